// Where the npm client keeps its session across reloads: IndexedDB, in the same database
// and under the same key (the client id) as the Rust client's IdbSessionStore. What to
// store, and when, is the client machine's decision; this file only reads and writes.

// The same database as the Rust client's IdbSessionStore, one key per client id.
const DB = 'tabmq-client-sessions';
const STORE = 'state';

const done = (r) => new Promise((resolve, reject) => {
  r.onsuccess = () => resolve(r.result);
  r.onerror = () => reject(r.error);
});

export async function openSessionStore(clientId) {
  const open = indexedDB.open(DB, 1);
  open.onupgradeneeded = () => open.result.createObjectStore(STORE);
  const db = await done(open);
  const saved = await done(db.transaction(STORE).objectStore(STORE).get(clientId));
  const save = (bytes) => new Promise((resolve) => {
    const tx = db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).put(bytes, clientId);
    // A full disk must not stall the connection: the bytes go out anyway.
    tx.oncomplete = tx.onerror = tx.onabort = () => resolve();
  });
  return { saved: saved instanceof Uint8Array ? saved : undefined, save };
}
