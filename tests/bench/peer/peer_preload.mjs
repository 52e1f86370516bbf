// Loaded with `node --import` into the peer gateway for the benchmark (our code, not the peer's):
// 1. Portkey's server has no host option and listens on every interface: force loopback binds.
// 2. Its streaming path appends headers to the upstream fetch() Response, whose headers are
//    immutable on current undici (Portkey-AI/gateway issues 1389 and 1550): hand it a copy.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const cb = args.find((a) => typeof a === 'function');
  if (typeof args[0] === 'object' && args[0] !== null) return listen.call(this, { ...args[0], host: '127.0.0.1' }, cb);
  return listen.call(this, { port: Number(args[0]) || 0, host: '127.0.0.1' }, cb);
};

const realFetch = globalThis.fetch;
globalThis.fetch = async (...args) => {
  const r = await realFetch(...args);
  return new Response(r.body, { status: r.status, statusText: r.statusText, headers: new Headers(r.headers) });
};
