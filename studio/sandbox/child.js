'use strict';
// The JavaScript sandbox child: runs one code node's `main(inputs)` and writes one result message to the
// result pipe. Node is exec'd into it by child.py after that process confined itself (rlimits, namespaces,
// Landlock, seccomp), with Node's permission model on top. The user's console output goes to stdout/stderr.
const fs = require('fs');
const vm = require('vm');
const { Writable } = require('stream');

const resultFd = Number(process.argv[2]);
const statusFd = Number(process.argv[3]); // /proc/self/status, opened before Landlock
const info = JSON.parse(process.argv[4]);
const allowed = new Set(info.allowed_modules);
const NETWORK_CALLS = new Set(['connect', 'getaddrinfo', 'getnameinfo', 'socket', 'bind', 'listen', 'queryA']);
const SYSCALL_LIMITS = { EFBIG: 'file_size', ENOSPC: 'file_size', EMFILE: 'open_files', ENFILE: 'open_files' };
let sent = false;

function peakKb() {
  try {
    const buf = Buffer.alloc(8192);
    const n = fs.readSync(statusFd, buf, 0, buf.length, 0);
    return Number((buf.toString('latin1', 0, n).match(/VmHWM:\s+(\d+)/) || [])[1] || 0);
  } catch (err) {
    return 0;
  }
}

function send(message) {
  if (sent) return;
  sent = true;
  message.layers = info.layers;
  message.problems = info.problems;
  message.peak_kb = peakKb();
  const data = Buffer.from(JSON.stringify(message));
  let offset = 0;
  while (offset < data.length) offset += fs.writeSync(resultFd, data, offset);
}

function limitOf(err) {
  if (!err || typeof err !== 'object') return null;
  if (err.code === 'MODULE_NOT_ALLOWED') return 'module';
  if (err.code === 'ERR_ACCESS_DENIED') {
    return /ChildProcess|Worker/.test(String(err.permission)) ? 'subprocess' : 'filesystem';
  }
  if (SYSCALL_LIMITS[err.code]) return SYSCALL_LIMITS[err.code];
  const call = String(err.syscall || '');
  if (call.startsWith('spawn') || call === 'kill') return 'subprocess';
  if (err.code === 'EAGAIN') return 'processes';
  if (NETWORK_CALLS.has(call) || ['ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH'].includes(err.code)) return 'network';
  if (err.code === 'EACCES' || err.code === 'EPERM') return 'filesystem';
  if (err.cause) return limitOf(err.cause);
  return null;
}

function describe(err) {
  if (!(err instanceof Error)) return { error: `Uncaught ${String(err)}`, traceback: '' };
  const stack = String(err.stack || '');
  const line = (stack.match(/<code>:(\d+)/) || [])[1];
  const text = `${err.name}: ${err.message}` + (line ? ` (line ${line})` : '');
  const frames = stack.split('\n').filter((l) => l.includes('<code>')).join('\n');
  return { error: text, traceback: `${err.name}: ${err.message}\n${frames}` };
}

function fail(err) {
  send({ ok: false, ...describe(err), error_type: 'CodeExecutionError', limit: limitOf(err) });
  process.exit(0);
}

function sandboxRequire(name) {
  const bare = String(name).replace(/^node:/, '');
  if (!allowed.has(bare.split('/')[0])) {
    const err = new Error(`require('${name}') is not allowed in a code node`);
    err.code = 'MODULE_NOT_ALLOWED';
    throw err;
  }
  return require(bare);
}

// Node writes to pipes asynchronously and drops what is queued at exit; the user's output is written
// synchronously instead, so the parent sees all of it and can stop a flood at its cap.
function syncStream(fd) {
  const stream = new Writable({
    decodeStrings: true,
    write(chunk, encoding, callback) {
      fs.writeSync(fd, chunk);
      callback();
    },
  });
  stream.fd = fd;
  stream.isTTY = false;
  return stream;
}

function captureOutput() {
  const out = syncStream(1);
  const err = syncStream(2);
  Object.defineProperty(process, 'stdout', { get: () => out, configurable: true });
  Object.defineProperty(process, 'stderr', { get: () => err, configurable: true });
  globalThis.console = new console.Console({ stdout: out, stderr: err });
}

class NonFiniteNumber extends Error {}

function finiteOnly(key, value) {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new NonFiniteNumber(`Output variable \`${key}\` must be a finite number, got ${value}`);
  }
  return value;
}

function finish(result) {
  if (result === null || typeof result !== 'object' || Array.isArray(result)) {
    const got = result === null ? 'null' : Array.isArray(result) ? 'array' : typeof result;
    send({ ok: false, error: `main() must return an object (a dict), got ${got}`, error_type: 'CodeNodeError' });
    process.exit(0);
  }
  let text;
  try {
    text = JSON.stringify(result, finiteOnly);
  } catch (err) {
    const deep = err instanceof RangeError;
    const message = err instanceof NonFiniteNumber ? err.message : `Output is not JSON serializable: ${err.message}`;
    send({ ok: false, error: deep ? 'Depth limit reached, object too deep.' : message,
      error_type: deep ? 'DepthLimitError' : 'OutputValidationError' });
    process.exit(0);
  }
  const head = { ok: true, layers: info.layers, problems: info.problems, peak_kb: peakKb() };
  fs.writeSync(resultFd, JSON.stringify(head).slice(0, -1) + ',"result":');
  let offset = 0;
  const data = Buffer.from(text);
  while (offset < data.length) offset += fs.writeSync(resultFd, data, offset);
  fs.writeSync(resultFd, '}');
  sent = true;
  process.exit(0);
}

process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

fs.writeSync(resultFd, '\x06'); // ready: confined and waiting
const raw = fs.readFileSync(0, 'utf8');
if (!raw) process.exit(0); // the parent went away (or closed an idle pool): nothing to run
const request = JSON.parse(raw);
captureOutput();
for (const key of Object.keys(process.env)) delete process.env[key];
let entry;
try {
  const wrapper = `(function (require, module, exports) {${request.code || ''}\n;return typeof main === 'function' ? main : undefined;\n})`;
  entry = vm.runInThisContext(wrapper, { filename: '<code>' })(sandboxRequire, { exports: {} }, {});
} catch (err) {
  fail(err);
}
if (typeof entry !== 'function') {
  send({ ok: false, error: 'The code must define a function main(...) that returns an object', error_type: 'CodeExecutionError' });
  process.exit(0);
}
Promise.resolve()
  .then(() => entry(request.inputs || {}))
  .then(finish, fail);
