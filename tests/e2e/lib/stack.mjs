// The system under test for the e2e suites: the fake Anthropic upstream (fake-upstream) and the
// real claude-nexus binary in front of it, both child processes on 127.0.0.1 with ephemeral
// ports, a scratch DATA_DIR, and read access to what they saw:
//   - records(): the proxy's SQLite database, read with the sqlite3 CLI (a separate connection,
//     as a user would read it);
//   - upstreamRequests(): the fake's --request-log (what the upstream actually received).
// Every wait is bounded; stop() kills both processes and removes the scratch directory.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const kStartTimeoutMs = 20_000;

function requireEnvBinary(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (path to the binary; see tests/e2e/run.sh)`);
  if (!fs.existsSync(value)) throw new Error(`${name}=${value} does not exist`);
  return value;
}

// Resolves when `stream` has produced a chunk for which `match(allText)` returns a non-null
// value; rejects on timeout or when the process exits first.
function waitForOutput(child, stream, match, what, timeoutMs = kStartTimeoutMs) {
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (fn, arg) => {
      clearTimeout(timer);
      stream.off('data', onData);
      child.off('exit', onExit);
      fn(arg);
    };
    const onData = (chunk) => {
      text += chunk.toString();
      const m = match(text);
      if (m != null) finish(resolve, m);
    };
    const onExit = (code, signal) =>
      finish(reject, new Error(`${what} exited (code ${code}, signal ${signal}) before starting:\n${text}`));
    const timer = setTimeout(
      () => finish(reject, new Error(`${what} did not start within ${timeoutMs} ms:\n${text}`)),
      timeoutMs);
    stream.on('data', onData);
    child.on('exit', onExit);
  });
}

function killAndWait(child, timeoutMs = 5_000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls `fn` (sync or async) every `intervalMs` until it returns a truthy value; returns it, or
// throws after `timeoutMs` with `what` and the last value/error.
export async function eventually(fn, what, timeoutMs = 10_000, intervalMs = 50) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${last}`);
    }
    await sleep(intervalMs);
  }
}

export class Stack {
  // extraProxyEnv: more environment for claude-nexus (e.g. CLAUDE_API_MAX_RETRIES).
  static async start({ extraProxyEnv = {} } = {}) {
    const stack = new Stack();
    try {
      await stack.#start(extraProxyEnv);
    } catch (e) {
      await stack.stop();
      throw e;
    }
    return stack;
  }

  async #start(extraProxyEnv) {
    const proxyBinary = requireEnvBinary('CN_BINARY');
    const fakeBinary = requireEnvBinary('CN_FAKE_UPSTREAM');
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cn-e2e-'));
    this.dataDir = path.join(this.dir, 'data');
    this.dbPath = path.join(this.dataDir, 'claude-nexus.db');
    this.requestLogPath = path.join(this.dir, 'upstream-requests.jsonl');
    fs.mkdirSync(path.join(this.dataDir, 'credentials'), { recursive: true });

    this.fake = spawn(fakeBinary, ['--host', '127.0.0.1', '--port', '0', '--request-log', this.requestLogPath],
                      { stdio: ['ignore', 'pipe', 'pipe'] });
    this.fakeStderr = '';
    this.fake.stderr.on('data', (c) => { this.fakeStderr += c; });
    this.upstreamPort = Number(await waitForOutput(
        this.fake, this.fake.stdout, (t) => /listening (\d+)/.exec(t)?.[1] ?? null, 'fake-upstream'));

    this.proxyLog = '';
    this.proxy = spawn(proxyBinary, ['serve'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // A clean environment: nothing from the developer's shell (.env, API keys) leaks in.
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: this.dir,
        PORT: '0',
        DASHBOARD_PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: this.dataDir,
        CREDENTIALS_DIR: path.join(this.dataDir, 'credentials'),
        CLAUDE_API_BASE_URL: `http://127.0.0.1:${this.upstreamPort}`,
        IO_THREADS: '2',
        LOG_LEVEL: 'info',
        ...extraProxyEnv,
      },
      cwd: this.dir,  // so no stray .env in the caller's directory is read
    });
    this.proxy.stdout.on('data', (c) => { this.proxyLog += c; });
    this.proxy.stderr.on('data', (c) => { this.proxyLog += c; });
    const listening = await waitForOutput(
        this.proxy, this.proxy.stderr,
        // The whole line: it names both ports before io_threads=.
        (t) => t.split('\n').find((l) => l.includes(' listening ') && /io_threads=/.test(l)) ?? null,
        'claude-nexus');
    this.port = Number(/ port=(\d+)/.exec(listening)[1]);
    this.baseUrl = `http://127.0.0.1:${this.port}`;
    // `serve` also serves the JSON API on the dashboard port (DASHBOARD_PORT=0: any free one).
    this.dashboardPort = Number(/ dashboard_port=(\d+)/.exec(listening)?.[1] ?? 0);
    this.apiUrl = `http://127.0.0.1:${this.dashboardPort}`;
  }

  // GET `path` of the JSON API on the dashboard port (docs/api.md); the parsed body.
  async api(path) {
    const res = await fetch(`${this.apiUrl}${path}`);
    const text = await res.text();
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${text}`);
    return JSON.parse(text);
  }

  async stop() {
    await Promise.all([killAndWait(this.proxy), killAndWait(this.fake)]);
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  // Rows of `sql` (JSON objects) from the proxy's database; [] until the database exists.
  query(sql) {
    if (!fs.existsSync(this.dbPath)) return [];
    const r = spawnSync('sqlite3', ['-json', '-cmd', '.timeout 3000', this.dbPath, sql],
                        { encoding: 'utf8', timeout: 10_000 });
    if (r.error) throw new Error(`sqlite3: ${r.error.message}`);
    if (r.status !== 0) throw new Error(`sqlite3 exited ${r.status}: ${r.stderr}`);
    return r.stdout.trim() ? JSON.parse(r.stdout) : [];
  }

  // The api_requests row of `requestId` once the record pipeline has written it (bounded wait),
  // with `chunks`: its streaming_chunks rows in order.
  async record(requestId, timeoutMs = 10_000) {
    if (!/^[0-9a-f-]{36}$/i.test(requestId ?? '')) throw new Error(`not a request id: ${requestId}`);
    const row = await eventually(
        () => this.query(`SELECT * FROM api_requests WHERE request_id = '${requestId}'`)[0],
        `the record of ${requestId}`, timeoutMs);
    row.chunks = this.query(
        `SELECT chunk_index, data FROM streaming_chunks WHERE request_id = '${requestId}' ORDER BY chunk_index`);
    return row;
  }

  // Every record whose request body contains `marker` (a unique string the test put there).
  recordsWithBody(marker) {
    if (!/^[A-Za-z0-9_-]+$/.test(marker)) throw new Error(`marker must be [A-Za-z0-9_-]+: ${marker}`);
    return this.query(`SELECT * FROM api_requests WHERE instr(body, '${marker}') > 0 ORDER BY timestamp_us`);
  }

  // What the fake upstream received, in order: {n, method, target, headers: [[name, value]...],
  // body}, plus header(name) (first value, case-insensitive, or undefined).
  upstreamRequests() {
    if (!fs.existsSync(this.requestLogPath)) return [];
    return fs.readFileSync(this.requestLogPath, 'utf8').split('\n').filter(Boolean).map((line) => {
      const req = JSON.parse(line);
      req.header = (name) => req.headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
      return req;
    });
  }

  // A description of both processes' output, for assertion messages.
  diagnostics() {
    return `--- claude-nexus log ---\n${this.proxyLog}\n--- fake-upstream stderr ---\n${this.fakeStderr}`;
  }
}

// The record's stored (masked) request headers as an object of lower-cased names; the `headers`
// column already joins repeated names with ", ".
export function recordedHeaders(row) {
  const out = {};
  for (const [k, v] of Object.entries(JSON.parse(row.headers ?? '{}'))) out[k.toLowerCase()] = v;
  return out;
}
