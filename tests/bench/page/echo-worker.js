// The MessagePort ceiling: echoes every buffer back as it came, transferred.
self.onmessage = ({ data: port }) => {
  port.onmessage = ({ data }) => port.postMessage(data, [data]);
};
