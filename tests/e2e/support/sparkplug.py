"""Sparkplug B payloads made by pysparkplug (PyPI), which tabmq did not write: an edge
node's NBIRTH with a Double and an Int32 (named, typed, aliased), then an NDATA that names
them by alias only and leaves their types out, as pysparkplug's DATA messages do. Written
to stdout as JSON: {"birth": hex, "data": hex}."""
import json
import pysparkplug as sp

t = sp.get_current_timestamp()
birth = sp.NBirth(timestamp=t, seq=0, metrics=(
    sp.Metric(timestamp=t, name="Temperature", alias=1, datatype=sp.DataType.DOUBLE, value=20.0),
    sp.Metric(timestamp=t, name="Pressure", alias=2, datatype=sp.DataType.INT32, value=0),
))
data = sp.NData(timestamp=t, seq=1, metrics=(
    sp.Metric(timestamp=t, name=None, alias=1, datatype=sp.DataType.DOUBLE, value=21.5),
    sp.Metric(timestamp=t, name=None, alias=2, datatype=sp.DataType.INT32, value=-12),
))
print(json.dumps({"birth": birth.encode().hex(), "data": data.encode().hex()}))
