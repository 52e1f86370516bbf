// Forward-proxy mode end to end: real clients (curl, the openai and @anthropic-ai/sdk npm
// clients) reach the fake provider through HTTPS_PROXY with Airlock terminating TLS for the AI
// hosts with its local CA; the ledger records them with the right app. Other hosts stay blind
// tunnels (the client sees the origin's own certificate). Certificates are checked with openssl
// (chain, SAN, lifetime, name constraints), bad input must not hurt the daemon, and app setup
// round-trips byte for byte on a temporary HOME.
// Run: AIRLOCKD=… AIRLOCKCTL=… node intercept_e2e.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import {
    E2E_DIR, requireNodeModules, startAirlockd, makeTempDir, removeDir, waitForLedgerIds,
    ledgerRequests, httpRequest, airlockctlPath, rawExchange, freePort, pollUntil,
} from './lib.mjs';
import { startFakeProvider, outputText } from './fake_provider.mjs';

await requireNodeModules();
if (!fs.existsSync(path.join(E2E_DIR, 'node_modules', 'https-proxy-agent', 'package.json'))) {
    fs.writeSync(2, `e2e: missing node module https-proxy-agent: run \`npm ci\` in ${E2E_DIR} first.\n`);
    process.exit(1);
}

const HELLO = outputText();
const LEDGER_DEADLINE_MS = 5000;
const TOOL_TIMEOUT_MS = 30000;
const LEAF_MAX_LIFETIME_MS = 7 * 24 * 3600 * 1000;

let fake;
let daemon;
let dataDir;
let work;
let caPem;
let caFile;
let origin;       // a local TLS server with its own throwaway certificate (not an AI host)
let originCa;     // PEM of that server's self-signed certificate

function run(cmd, args, { env, input, timeoutMs = TOOL_TIMEOUT_MS } = {}) {
    return new Promise((resolve) => {
        const child = execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024,
            env: { ...process.env, ...(env ?? {}) } }, (error, stdout, stderr) => {
            resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
        });
        if (input !== undefined) child.stdin.end(input);
    });
}

async function mustRun(cmd, args, opts) {
    const r = await run(cmd, args, opts);
    assert.equal(r.code, 0, `${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
    return r;
}

// Opens `CONNECT target` on the proxy; resolves {status, socket, body} (socket only on 200).
function connectThrough(port, target, { timeoutMs = 10000 } = {}) {
    return new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, method: 'CONNECT', path: target, agent: false });
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`CONNECT ${target} timed out`)));
        req.on('connect', (res, socket, head) => {
            if (res.statusCode === 200) {
                resolve({ status: 200, socket, body: '' });
                return;
            }
            // node hands a refused CONNECT over as a 'connect' too: the body follows on the socket.
            const want = Number.parseInt(res.headers['content-length'] ?? '-1', 10);
            const chunks = [head];
            const done = () => {
                socket.destroy();
                resolve({ status: res.statusCode, socket: null, body: Buffer.concat(chunks).toString('utf8') });
            };
            if (want >= 0 && head.length >= want) return done();
            socket.on('data', (c) => {
                chunks.push(c);
                if (want >= 0 && Buffer.concat(chunks).length >= want) done();
            });
            socket.on('end', done);
            socket.on('error', done);
        });
        req.on('response', (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode, socket: null,
                body: Buffer.concat(chunks).toString('utf8') }));
        });
        req.on('error', reject);
        req.end();
    });
}

// TLS over an established tunnel; resolves the TLS socket or rejects with the handshake error.
function tlsOver(socket, servername, ca) {
    return new Promise((resolve, reject) => {
        const s = tls.connect({ socket, servername, ca, ALPNProtocols: ['http/1.1'] });
        s.once('secureConnect', () => resolve(s));
        s.once('error', reject);
    });
}

function derToPem(der) {
    const b64 = der.toString('base64').match(/.{1,64}/g).join('\n');
    return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

async function curlThroughProxy(url, extra = []) {
    return run('curl', ['-sS', '--max-time', '15', '--proxy', daemon.url, '--cacert', caFile,
        '-D', '-', ...extra, url]);
}

function headerOf(curlOutput, name) {
    const m = new RegExp(`^${name}:\\s*(.+?)\\r?$`, 'im').exec(curlOutput);
    return m ? m[1] : null;
}

before(async () => {
    work = await makeTempDir('airlock-intercept-e2e-');
    fake = await startFakeProvider();
    dataDir = path.join(work, 'data');
    // The CA key in a file: the name-constraint test signs with it (keychain storage is covered
    // by tst_local_ca).
    daemon = await startAirlockd({ dataDir, configDir: work, env: { AIRLOCK_CA_KEY_STORAGE: 'file' },
        upstreams: { openai: fake.url, anthropic: fake.url, gemini: fake.url } });
    caFile = path.join(dataDir, 'ca', 'airlock-ca.pem');
    caPem = await fsp.readFile(caFile, 'utf8');

    // The non-AI origin: its own self-signed certificate, made with openssl for this run.
    const key = path.join(work, 'origin.key');
    const crt = path.join(work, 'origin.pem');
    await mustRun('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
        '-nodes', '-keyout', key, '-out', crt, '-days', '1', '-subj', '/CN=origin.e2e.test',
        '-addext', 'subjectAltName=DNS:origin.e2e.test,DNS:localhost,IP:127.0.0.1']);
    originCa = await fsp.readFile(crt, 'utf8');
    origin = https.createServer({ key: await fsp.readFile(key), cert: originCa }, (req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`origin says hi to ${req.url}`);
    });
    await new Promise((resolve) => origin.listen(0, '127.0.0.1', resolve));
});

after(async () => {
    if (daemon) await daemon.stop();
    if (fake) await fake.close();
    if (origin) await new Promise((resolve) => origin.close(resolve));
    if (!process.env.E2E_KEEP) await removeDir(work);
});

test('curl through the proxy reaches the OpenAI format with TLS interception and is recorded as curl', async () => {
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi via curl' }] });
    const r = await curlThroughProxy('https://api.openai.com/v1/chat/completions',
        ['-H', 'authorization: Bearer sk-e2e-openai', '-H', 'content-type: application/json',
            '-H', 'x-e2e-case: curl-intercept', '--data', body]);
    assert.equal(r.code, 0, `curl failed: ${r.stderr}`);
    assert.match(r.stdout, /^HTTP\/1\.1 200/m);
    const id = headerOf(r.stdout, 'x-airlock-request-id');
    assert.ok(id, 'intercepted answers carry x-airlock-request-id');
    assert.ok(r.stdout.includes(HELLO), 'the fake provider answered');
    const seen = fake.requests.filter((q) => q.headers['x-e2e-case'] === 'curl-intercept');
    assert.equal(seen.length, 1);
    assert.equal(seen[0].path, '/v1/chat/completions');
    assert.equal(seen[0].headers.authorization, 'Bearer sk-e2e-openai', 'the client key passes through');
    const rows = await waitForLedgerIds(dataDir, [id], { timeoutMs: LEDGER_DEADLINE_MS });
    const row = rows.find((x) => x.id === id);
    assert.equal(row.app, 'curl');
    assert.equal(row.provider, 'openai');
    assert.equal(row.model, 'gpt-4o-mini');
    assert.equal(row.status, 200);
    assert.equal(row.outcome, 'ok');
    assert.ok(row.input_tokens > 0 && row.output_tokens === 5, JSON.stringify(row));
});

test('openai and @anthropic-ai/sdk clients through https-proxy-agent trust the CA via NODE_EXTRA_CA_CERTS', async () => {
    const r = await run(process.execPath, [path.join(E2E_DIR, 'intercept_client.mjs')], {
        env: { HTTPS_PROXY: daemon.url, NODE_EXTRA_CA_CERTS: caFile, NODE_NO_WARNINGS: '1' } });
    let outObj;
    try {
        outObj = JSON.parse(r.stdout.trim().split('\n').at(-1));
    } catch {
        assert.fail(`intercept_client printed no JSON (exit ${r.code}): ${r.stdout}${r.stderr}`);
    }
    assert.equal(outObj.error, undefined, outObj.error);
    assert.equal(r.code, 0);
    assert.deepEqual(outObj.results.map((x) => x.text), [HELLO, HELLO, HELLO]);
    assert.equal(outObj.ids.length, 3);
    const rows = await waitForLedgerIds(dataDir, outObj.ids, { timeoutMs: LEDGER_DEADLINE_MS });
    const mine = outObj.ids.map((id) => rows.find((x) => x.id === id));
    for (const row of mine) {
        assert.equal(row.app, 'intercept_client', `app attribution of ${row.id}`);
        assert.equal(row.outcome, 'ok');
        assert.ok(row.output_tokens === 5, `usage recorded for ${row.id}: ${JSON.stringify(row)}`);
    }
    assert.deepEqual(mine.map((x) => x.provider), ['openai', 'openai', 'anthropic']);
    assert.equal(mine[2].model, 'claude-sonnet-4-5');
    assert.equal(mine[2].input_tokens, outObj.results[2].usage.input_tokens);
});

test('the pipeline answers intercepted requests exactly like base-URL requests (refusals included)', async () => {
    const bad = '{"model": "gpt-4o-mini", "messages": [';
    const direct = await httpRequest(`${daemon.url}/v1/chat/completions`, { method: 'POST', body: bad,
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-e2e-openai' } });
    const viaProxy = await curlThroughProxy('https://api.openai.com/v1/chat/completions',
        ['-H', 'authorization: Bearer sk-e2e-openai', '-H', 'content-type: application/json', '--data', bad]);
    assert.equal(direct.status, 400);
    assert.match(viaProxy.stdout, /^HTTP\/1\.1 400/m);
    const viaBody = JSON.parse(viaProxy.stdout.slice(viaProxy.stdout.lastIndexOf('\r\n\r\n') + 4));
    assert.equal(viaBody.error.type, JSON.parse(direct.body).error.type);
    const id = headerOf(viaProxy.stdout, 'x-airlock-request-id');
    const rows = await waitForLedgerIds(dataDir, [id], { timeoutMs: LEDGER_DEADLINE_MS });
    assert.equal(rows.find((x) => x.id === id).outcome, 'invalid_request');
});

test('plain-HTTP proxy requests: AI hosts enter the pipeline, other hosts are forwarded', async () => {
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'plain http' }] });
    const r = await run('curl', ['-sS', '--max-time', '15', '--proxy', daemon.url, '-D', '-',
        '-H', 'authorization: Bearer sk-e2e-openai', '-H', 'content-type: application/json', '--data', body,
        'http://api.openai.com/v1/chat/completions']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^HTTP\/1\.1 200/m);
    const id = headerOf(r.stdout, 'x-airlock-request-id');
    const rows = await waitForLedgerIds(dataDir, [id], { timeoutMs: LEDGER_DEADLINE_MS });
    assert.equal(rows.find((x) => x.id === id).app, 'curl');
    // A non-AI origin: forwarded unchanged, not recorded.
    const before = (await ledgerRequests(dataDir, 1000)).length;
    const p = await run('curl', ['-sS', '--max-time', '15', '--proxy', daemon.url, '-D', '-',
        `${fake.url}/__fake/requests`]);
    assert.match(p.stdout, /^HTTP\/1\.1 200/m, p.stderr);
    assert.equal(headerOf(p.stdout, 'x-airlock-request-id'), null);
    assert.equal((await ledgerRequests(dataDir, 1000)).length, before, 'passthrough is not accounted');
});

test('a non-AI path on an intercepted host goes to the real host unaccounted', async () => {
    // No DNS here: the real api.anthropic.com is unreachable, which proves where it was sent.
    const before = (await ledgerRequests(dataDir, 1000)).length;
    const r = await curlThroughProxy('https://api.anthropic.com/api/claude_code/settings');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(headerOf(r.stdout, 'x-airlock-passthrough'), '1', r.stdout);
    assert.match(r.stdout, /api\.anthropic\.com:443/);
    assert.equal(fake.requests.filter((q) => q.path.startsWith('/api/claude_code')).length, 0);
    assert.equal((await ledgerRequests(dataDir, 1000)).length, before);
});

test('a non-AI host through CONNECT is a blind tunnel: the client sees the origin certificate', async () => {
    const originPort = origin.address().port;
    for (const target of [`127.0.0.1:${originPort}`, `localhost:${originPort}`]) {
        const c = await connectThrough(daemon.port, target);
        assert.equal(c.status, 200, `CONNECT ${target}: ${c.body}`);
        const s = await tlsOver(c.socket, 'origin.e2e.test', originCa);
        const seen = s.getPeerCertificate(true);
        const expected = new crypto.X509Certificate(originCa);
        assert.equal(seen.fingerprint256, expected.fingerprint256, `${target}: the origin's own certificate`);
        assert.ok(!/Airlock/.test(seen.issuer.CN ?? ''), 'not minted by Airlock');
        s.end();
    }
    // And curl trusting only the origin's certificate talks to it through the tunnel.
    const r = await run('curl', ['-sS', '--max-time', '15', '--proxy', daemon.url, '--cacert',
        path.join(work, 'origin.pem'), `https://127.0.0.1:${originPort}/blind`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'origin says hi to /blind');
});

test('minted leaf: chains to the CA, SAN is the host, ECDSA P-256, at most 7 days', async () => {
    const c = await connectThrough(daemon.port, 'api.openai.com:443');
    assert.equal(c.status, 200);
    const s = await tlsOver(c.socket, 'api.openai.com', caPem);
    const leafPem = derToPem(s.getPeerCertificate().raw);
    s.end();
    const leafFile = path.join(work, 'leaf.pem');
    await fsp.writeFile(leafFile, leafPem);
    const v = await run('openssl', ['verify', '-CAfile', caFile, leafFile]);
    assert.equal(v.code, 0, `openssl verify: ${v.stdout}${v.stderr}`);
    const text = (await mustRun('openssl', ['x509', '-in', leafFile, '-noout', '-text'])).stdout;
    assert.match(text, /DNS:api\.openai\.com/);
    assert.doesNotMatch(text, /DNS:(?!api\.openai\.com)/, 'only the host in the SAN');
    assert.match(text, /prime256v1|P-256/);
    const x = new crypto.X509Certificate(leafPem);
    const lifetime = Date.parse(x.validTo) - Date.parse(x.validFrom);
    assert.ok(lifetime <= LEAF_MAX_LIFETIME_MS, `leaf lifetime ${lifetime} ms`);
    assert.ok(x.checkIssued(new crypto.X509Certificate(caPem)));
    const caText = (await mustRun('openssl', ['x509', '-in', caFile, '-noout', '-text'])).stdout;
    assert.match(caText, /Name Constraints: critical/);
    assert.match(caText, /Permitted:[\s\S]*DNS:api\.anthropic\.com/);
});

test('name constraints: a leaf the CA signs for a host outside the list does not verify', async () => {
    const keyFile = path.join(dataDir, 'ca', 'airlock-ca.key');
    const stat = await fsp.stat(keyFile);
    assert.equal(stat.mode & 0o077, 0, 'the CA key file is private (0600)');
    for (const [name, san] of [['evil', 'DNS:evil.example.com'], ['evilsub', 'DNS:api.openai.com.evil.example.com'],
        ['ip', 'IP:127.0.0.1']]) {
        const key = path.join(work, `${name}.key`);
        const csr = path.join(work, `${name}.csr`);
        const crt = path.join(work, `${name}.pem`);
        const ext = path.join(work, `${name}.ext`);
        await fsp.writeFile(ext, `subjectAltName=${san}\n`);
        await mustRun('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
            '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
        await mustRun('openssl', ['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', keyFile,
            '-CAcreateserial', '-out', crt, '-days', '1', '-extfile', ext]);
        const v = await run('openssl', ['verify', '-CAfile', caFile, crt]);
        assert.notEqual(v.code, 0, `${san} must not verify: ${v.stdout}`);
        assert.match(v.stdout + v.stderr, /subtree violation|excluded|not permitted/i);
    }
    // The control: the same procedure for a listed host verifies.
    const key = path.join(work, 'good.key');
    const csr = path.join(work, 'good.csr');
    const crt = path.join(work, 'good.pem');
    const ext = path.join(work, 'good.ext');
    await fsp.writeFile(ext, 'subjectAltName=DNS:api.mistral.ai\n');
    await mustRun('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
        '-keyout', key, '-out', csr, '-subj', '/CN=api.mistral.ai']);
    await mustRun('openssl', ['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', keyFile, '-CAcreateserial',
        '-out', crt, '-days', '1', '-extfile', ext]);
    await mustRun('openssl', ['verify', '-CAfile', caFile, crt]);
});

async function daemonStillServes() {
    const h = await httpRequest(`${daemon.url}/healthz`);
    assert.equal(h.status, 200);
    const r = await curlThroughProxy('https://api.openai.com/v1/models', ['-H', 'authorization: Bearer sk-e2e-openai']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^HTTP\/1\.1 200/m);
}

test('bad input: CONNECT to a closed port answers 502 with the reason', async () => {
    const closed = await freePort();
    const c = await connectThrough(daemon.port, `127.0.0.1:${closed}`);
    assert.equal(c.status, 502);
    assert.match(JSON.parse(c.body).error.message, new RegExp(`could not connect to 127\\.0\\.0\\.1:${closed}.*refused`, 'i'));
    const bad = await connectThrough(daemon.port, 'no-port-here');
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(bad.body).error.message, /host:port/);
    await daemonStillServes();
});

test('bad input: garbage instead of a TLS handshake, and a client that rejects the certificate', async () => {
    // Garbage after CONNECT to an intercepted host: the connection is closed, nothing else.
    const r = await rawExchange(daemon.port, ['CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\n\r\n'],
        { untilComplete: false, timeoutMs: 2000 });
    assert.match(r.raw, /^HTTP\/1\.1 200/);
    const c = await connectThrough(daemon.port, 'api.openai.com:443');
    assert.equal(c.status, 200);
    const closed = new Promise((resolve) => c.socket.once('close', resolve));
    c.socket.write(Buffer.from('\x16\x03\x01\x00\x05garbage-garbage-garbage\r\n\r\n'));
    await closed;
    // A client that does not trust the Airlock CA refuses the handshake.
    const c2 = await connectThrough(daemon.port, 'api.anthropic.com:443');
    assert.equal(c2.status, 200);
    await assert.rejects(tlsOver(c2.socket, 'api.anthropic.com', undefined),
        /self.signed|unable to get local issuer|certificate/i);
    // curl without --cacert says why, too.
    const cu = await run('curl', ['-sS', '--max-time', '10', '--proxy', daemon.url, 'https://api.openai.com/v1/models']);
    assert.notEqual(cu.code, 0);
    assert.match(cu.stderr, /certificate/i);
    // Many at once, then the daemon still serves.
    await Promise.all(Array.from({ length: 20 }, async () => {
        const x = await connectThrough(daemon.port, 'api.openai.com:443');
        x.socket.on('error', () => {});
        x.socket.end(crypto.randomBytes(4096));
        await new Promise((resolve) => x.socket.once('close', resolve));
    }));
    assert.equal(daemon.exitInfo, null, 'airlockd is still running');
    await daemonStillServes();
});

test('the PAC file sends only the AI hosts through Airlock (no auth)', async () => {
    const r = await httpRequest(`${daemon.url}/proxy.pac`);
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /application\/x-ns-proxy-autoconfig/);
    const FindProxyForURL = new Function('dnsDomainIs',
        `${r.body}; return FindProxyForURL;`)((h, d) => h.endsWith(d));
    assert.equal(FindProxyForURL('https://api.openai.com/v1', 'api.openai.com'), `PROXY 127.0.0.1:${daemon.port}`);
    assert.equal(FindProxyForURL('https://api.anthropic.com/', 'API.Anthropic.com'), `PROXY 127.0.0.1:${daemon.port}`);
    assert.equal(FindProxyForURL('https://example.com/', 'example.com'), 'DIRECT');
    assert.equal(FindProxyForURL('https://evil-api.openai.com.example/', 'api.openai.com.example'), 'DIRECT');
});

test('airlockctl ca export prints the CA; --info says where the key is', async () => {
    const r = await mustRun(airlockctlPath(), ['--data-dir', dataDir, 'ca', 'export']);
    assert.equal(r.stdout.trim(), caPem.trim());
    const info = JSON.parse((await mustRun(airlockctlPath(), ['--data-dir', dataDir, 'ca', 'export', '--info', '--json'])).stdout);
    assert.match(info.key_storage, /file \(0600\)/);
    assert.ok(info.permitted_hosts.includes('api.openai.com'));
});

// ----- app setup on a temporary HOME ------------------------------------------------------------

async function snapshot(dir) {
    const out = {};
    async function walk(d) {
        for (const e of await fsp.readdir(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) {
                out[`${path.relative(dir, p)}/`] = 'dir';
                await walk(p);
            } else out[path.relative(dir, p)] = (await fsp.readFile(p)).toString('base64');
        }
    }
    await walk(dir);
    return out;
}

test('setup then undo for every app leaves HOME byte-identical; doctor notices a dead proxy', async () => {
    const home = path.join(work, 'home');
    const setupData = path.join(work, 'setup-data');
    await fsp.mkdir(path.join(home, '.claude'), { recursive: true });
    await fsp.mkdir(path.join(home, '.codex'), { recursive: true });
    await fsp.mkdir(path.join(home, '.config', 'Code', 'User'), { recursive: true });
    await fsp.writeFile(path.join(home, '.bashrc'), '# my bashrc\nalias ll="ls -l"\n');
    await fsp.writeFile(path.join(home, '.profile'), 'PATH=$HOME/bin:$PATH'); // no final newline
    await fsp.writeFile(path.join(home, '.claude', 'settings.json'),
        '{\n  "model": "opus",\n  "env": {"DISABLE_TELEMETRY": "1"},\n  "permissions": {"allow": ["Bash(ls:*)"]}\n}\n');
    await fsp.writeFile(path.join(home, '.codex', 'config.toml'),
        'model = "gpt-5"\nopenai_base_url = "https://gateway.example/v1"\n\n[model_providers.x]\nname = "x"\nbase_url = "http://x"\n');
    await fsp.writeFile(path.join(home, '.config', 'Code', 'User', 'settings.json'), '{"editor.fontSize": 13}');
    const original = await snapshot(home);
    const env = { HOME: home, CODEX_HOME: '' , XDG_CONFIG_HOME: path.join(home, '.config') };
    const ctl = (...args) => run(airlockctlPath(), ['--data-dir', setupData, ...args], { env });
    const apps = ['shell', 'claude', 'codex', 'gemini', 'vscode'];
    for (const app of apps) {
        const r = await ctl('setup', app, '--proxy', daemon.url);
        assert.equal(r.code, 0, `setup ${app}: ${r.stderr}${r.stdout}`);
    }
    const applied = await snapshot(home);
    // What each app now says.
    const claude = JSON.parse(await fsp.readFile(path.join(home, '.claude', 'settings.json'), 'utf8'));
    assert.equal(claude.env.ANTHROPIC_BASE_URL, daemon.url);
    assert.equal(claude.env.DISABLE_TELEMETRY, '1', 'merged, not clobbered');
    assert.equal(claude.model, 'opus');
    const codex = await fsp.readFile(path.join(home, '.codex', 'config.toml'), 'utf8');
    assert.match(codex, new RegExp(`^openai_base_url = "${daemon.url}/v1"$`, 'm'));
    assert.equal((codex.match(/^openai_base_url/mg) ?? []).length, 1, 'one definition of the key (valid TOML)');
    assert.match(codex, /\[model_providers\.x\]/);
    const bashrc = await fsp.readFile(path.join(home, '.bashrc'), 'utf8');
    assert.match(bashrc, new RegExp(`export ANTHROPIC_BASE_URL='${daemon.url}'`));
    assert.match(bashrc, /export SSL_CERT_FILE='.*ca-bundle-with-airlock\.pem'/);
    const bundle = await fsp.readFile(path.join(setupData, 'ca', 'ca-bundle-with-airlock.pem'), 'utf8');
    assert.ok(bundle.includes((await fsp.readFile(path.join(setupData, 'ca', 'airlock-ca.pem'), 'utf8')).trim()));
    assert.ok((bundle.match(/BEGIN CERTIFICATE/g) ?? []).length > 1, 'system roots plus the Airlock CA');
    assert.match(await fsp.readFile(path.join(home, '.gemini', '.env'), 'utf8'), /GOOGLE_GEMINI_BASE_URL=/);
    const vscode = JSON.parse(await fsp.readFile(path.join(home, '.config', 'Code', 'User', 'settings.json'), 'utf8'));
    assert.equal(vscode['http.proxy'], daemon.url);
    assert.equal(vscode['editor.fontSize'], 13);

    // Idempotent: a second run changes nothing.
    for (const app of apps) {
        const r = await ctl('setup', app, '--proxy', daemon.url);
        assert.equal(r.code, 0);
        assert.match(r.stdout, /nothing changed/);
    }
    assert.deepEqual(await snapshot(home), applied);

    // doctor: the proxy is alive -> no failures; a dead port -> failure, named.
    const ok = await ctl('doctor', '--proxy', daemon.url);
    assert.equal(ok.code, 0, ok.stdout);
    assert.match(ok.stdout, /\[ok\] claude: points at/);
    const deadPort = await freePort();
    const deadUrl = `http://127.0.0.1:${deadPort}`;
    await fsp.writeFile(path.join(home, '.claude', 'settings.json'),
        JSON.stringify({ env: { ANTHROPIC_BASE_URL: deadUrl } }));
    const dead = await ctl('doctor', '--proxy', daemon.url);
    assert.notEqual(dead.code, 0);
    assert.match(dead.stdout, new RegExp(`\\[FAIL\\] claude: points at ${deadUrl}`));
    await fsp.writeFile(path.join(home, '.claude', 'settings.json'), Buffer.from(applied['.claude/settings.json'], 'base64'));

    for (const app of apps) {
        const r = await ctl('setup', app, '--undo');
        assert.equal(r.code, 0, `undo ${app}: ${r.stderr}`);
    }
    assert.deepEqual(await snapshot(home), original, 'HOME is byte-identical after undo');
});

// ----- policy on intercepted traffic --------------------------------------------------------------

test('policy is enforced on intercepted requests exactly as on base-URL requests', async () => {
    const pdir = path.join(work, 'policy');
    await fsp.mkdir(pdir, { recursive: true });
    const ctlp = (...args) => run(airlockctlPath(), args);
    const keygen = await ctlp('policy', 'keygen', '--out', path.join(pdir, 'keys'));
    assert.equal(keygen.code, 0, keygen.stderr);
    const bundle = {
        version: 7, issued_at: '2026-01-01T00:00:00Z', expires_at: '2099-01-01T00:00:00Z',
        profiles: { default: { mode: 'enforce', fail_mode: 'closed',
            models: { allow: ['gpt-4o*', 'claude-*'], deny: ['*-preview'] },
            apps: { curl: { models: { allow: ['gpt-4o-mini'] } } } } },
    };
    await fsp.writeFile(path.join(pdir, 'bundle.json'), JSON.stringify(bundle));
    const signed = await ctlp('policy', 'sign', '--key', path.join(pdir, 'keys', 'policy-signing.key'),
        path.join(pdir, 'bundle.json'));
    assert.equal(signed.code, 0, signed.stderr);
    const server = http.createServer((req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(signed.stdout);
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const pdata = path.join(pdir, 'data');
    const d = await startAirlockd({ dataDir: pdata, configDir: pdir,
        upstreams: { openai: fake.url, anthropic: fake.url },
        config: { policy: { url: `http://127.0.0.1:${server.address().port}/bundle.json`,
            trusted_keys: [path.join(pdir, 'keys', 'policy-signing.pub')], poll_seconds: 3600 } },
        env: { AIRLOCK_MANAGED_CONFIG: path.join(pdir, 'no-managed.json') } });
    try {
        const sync = await ctlp('--data-dir', pdata, 'policy', 'sync');
        assert.equal(sync.code, 0, `${sync.stderr}${sync.stdout}`);
        const ca = path.join(pdata, 'ca', 'airlock-ca.pem');
        const ask = (model, viaProxy) => {
            const body = JSON.stringify({ model, messages: [{ role: 'user', content: 'policy?' }] });
            const common = ['-sS', '--max-time', '15', '-D', '-', '-H', 'authorization: Bearer sk-e2e-openai',
                '-H', 'content-type: application/json', '--data', body];
            return viaProxy
                ? run('curl', [...common, '--proxy', d.url, '--cacert', ca, 'https://api.openai.com/v1/chat/completions'])
                : run('curl', [...common, `${d.url}/v1/chat/completions`]);
        };
        const statusOf = (r) => Number(/HTTP\/1\.1 (\d{3})(?![\s\S]*HTTP\/1\.1 \d{3})/.exec(r.stdout)?.[1]);
        const bodyOf = (r) => JSON.parse(r.stdout.slice(r.stdout.lastIndexOf('\r\n\r\n') + 4));
        for (const [model, expected] of [['gpt-4o-mini', 200], ['o1-preview', 403], ['gpt-4o', 403]]) {
            const direct = await ask(model, false);
            const proxied = await ask(model, true);
            assert.equal(statusOf(direct), expected, `${model} via base URL: ${direct.stdout}`);
            assert.equal(statusOf(proxied), expected, `${model} via HTTPS_PROXY: ${proxied.stdout}`);
            if (expected !== 200) {
                assert.equal(bodyOf(proxied).error.message, bodyOf(direct).error.message);
                const id = headerOf(proxied.stdout, 'x-airlock-request-id');
                const rows = await waitForLedgerIds(pdata, [id], { timeoutMs: LEDGER_DEADLINE_MS });
                const row = rows.find((x) => x.id === id);
                assert.equal(row.app, 'curl');
                assert.equal(row.outcome, 'blocked');
            }
        }
    } finally {
        await d.stop();
        server.close();
    }
});

test('a daemon started with HTTPS_PROXY pointing at itself ignores it instead of looping', async () => {
    const port = await freePort();
    const sdir = path.join(work, 'self-proxy');
    await fsp.mkdir(sdir, { recursive: true });
    const d = await startAirlockd({ dataDir: sdir, port,
        env: { HTTPS_PROXY: `http://127.0.0.1:${port}`, https_proxy: `http://localhost:${port}` } });
    try {
        await pollUntil(() => /ignoring HTTPS_PROXY=.*points at this daemon/.test(d.log()),
            { what: 'the self-proxy warning' });
        assert.match(d.log(), /ignoring https_proxy=/);
        const h = await httpRequest(`${d.url}/healthz`);
        assert.equal(h.status, 200);
    } finally {
        await d.stop();
    }
});
