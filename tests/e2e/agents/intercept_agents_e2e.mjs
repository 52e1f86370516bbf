// The coding agents reached through Airlock's interception and set-up paths instead of hand-set
// base URLs: Claude Code through HTTPS_PROXY with the Airlock CA in NODE_EXTRA_CA_CERTS (TLS to
// api.anthropic.com terminated by airlockd), then Claude Code and Codex CLI configured only by
// `airlockctl setup claude|codex` on a temporary HOME, and `--undo` restoring that HOME.
// Skips (exit 0, with the reason) when the agents are not installed (`npm ci` in this folder).
// Run: AIRLOCKD=… AIRLOCKCTL=… node agents/intercept_agents_e2e.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAirlockd, makeTempDir, removeDir, ledgerRequests, pollUntil, airlockctlPath } from '../lib.mjs';
import { startFakeProvider, outputText } from '../fake_provider.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.join(HERE, 'node_modules', '.bin');
const AGENT_TIMEOUT_MS = 120_000;
if (!existsSync(path.join(BIN, 'claude')) || !existsSync(path.join(BIN, 'codex'))) {
    // tests/run_all.sh installs the agents and sets this: there a missing install is a failure.
    if (process.env.AIRLOCK_REQUIRE_AGENTS === '1') {
        console.error(`the coding agents are not installed in ${HERE} (npm ci failed?)`);
        process.exit(1);
    }
    console.log(`# SKIP: the coding agents are not installed; run \`npm ci\` in ${HERE} to run this test`);
    process.exit(0);
}

let fake;
let daemon;
let tmp;
let caFile;

before(async () => {
    tmp = await makeTempDir('airlock-intercept-agents-');
    fake = await startFakeProvider();
    daemon = await startAirlockd({
        dataDir: path.join(tmp, 'data'),
        upstreams: { openai: fake.url, anthropic: fake.url, gemini: fake.url },
    });
    caFile = path.join(tmp, 'data', 'ca', 'airlock-ca.pem');
});

after(async () => {
    await daemon?.stop();
    await fake?.close();
    await removeDir(tmp);
});

function runAgent(name, args, env, input) {
    return new Promise((resolve, reject) => {
        const child = spawn(path.join(BIN, name), args, {
            cwd: tmp,
            env: { PATH: process.env.PATH, DISABLE_TELEMETRY: '1', DISABLE_AUTOUPDATER: '1', ...env },
            stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        });
        if (input !== undefined) child.stdin.end(input);
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => { out += d; });
        child.stderr.on('data', (d) => { err += d; });
        const timer = setTimeout(() => child.kill('SIGKILL'), AGENT_TIMEOUT_MS);
        child.once('error', reject);
        child.once('exit', (code) => {
            clearTimeout(timer);
            resolve({ code, out, err });
        });
    });
}

function ctl(home, ...args) {
    return new Promise((resolve) => {
        execFile(airlockctlPath(), ['--data-dir', path.join(tmp, 'data'), ...args],
            { env: { ...process.env, HOME: home, CODEX_HOME: '' } }, (error, stdout, stderr) =>
                resolve({ code: error ? error.code : 0, stdout, stderr }));
    });
}

async function okRowsSince(count, app, provider) {
    return pollUntil(async () => {
        const rows = (await ledgerRequests(path.join(tmp, 'data'), 1000)).slice(0, -count || undefined);
        const mine = rows.filter((r) => r.app.startsWith(app) && r.provider === provider && r.outcome === 'ok');
        return mine.length ? mine : null;
    }, { what: `an ok ledger row for ${app}`, timeoutMs: 10000 });
}

test('Claude Code through HTTPS_PROXY: api.anthropic.com is intercepted, answered and attributed', async () => {
    const home = path.join(tmp, 'home-proxy');
    await mkdir(home, { recursive: true });
    const before = (await ledgerRequests(path.join(tmp, 'data'), 1000)).length;
    const r = await runAgent('claude', ['-p', 'say hi'], {
        HOME: home, HTTPS_PROXY: daemon.url, NODE_EXTRA_CA_CERTS: caFile, ANTHROPIC_API_KEY: 'sk-ant-e2e',
    });
    assert.equal(r.code, 0, `claude failed: ${r.err.slice(-2000)}`);
    assert.match(r.out, new RegExp(outputText()));
    const rows = await okRowsSince(before, 'claude', 'anthropic');
    assert.ok(rows.every((x) => x.input_tokens > 0 && x.output_tokens > 0 && x.pid > 0), JSON.stringify(rows));
});

test('Claude Code and Codex CLI set up by airlockctl setup alone, then undone byte for byte', async () => {
    const home = path.join(tmp, 'home-setup');
    await mkdir(path.join(home, '.claude'), { recursive: true });
    const claudeSettings = '{"theme": "dark"}\n';
    await writeFile(path.join(home, '.claude', 'settings.json'), claudeSettings);
    for (const app of ['claude', 'codex']) {
        const s = await ctl(home, 'setup', app, '--proxy', daemon.url);
        assert.equal(s.code, 0, `setup ${app}: ${s.stderr}`);
    }
    let before = (await ledgerRequests(path.join(tmp, 'data'), 1000)).length;
    const c = await runAgent('claude', ['-p', 'say hi'], { HOME: home, ANTHROPIC_API_KEY: 'sk-ant-e2e' });
    assert.equal(c.code, 0, `claude failed: ${c.err.slice(-2000)}`);
    assert.match(c.out, new RegExp(outputText()));
    await okRowsSince(before, 'claude', 'anthropic');

    // Codex 0.169 sends OPENAI_API_KEY only after a login (stored in CODEX_HOME/auth.json).
    const login = await runAgent('codex', ['login', '--with-api-key'], { HOME: home }, 'sk-e2e');
    assert.equal(login.code, 0, `codex login: ${login.err}`);
    before = (await ledgerRequests(path.join(tmp, 'data'), 1000)).length;
    const x = await runAgent('codex', ['exec', '--skip-git-repo-check', 'say hi'], { HOME: home });
    assert.equal(x.code, 0, `codex failed: ${(x.out + x.err).slice(-2000)}`);
    assert.match(x.out + x.err, new RegExp(outputText()));
    await okRowsSince(before, 'codex', 'openai');

    for (const app of ['claude', 'codex']) {
        const u = await ctl(home, 'setup', app, '--undo');
        assert.equal(u.code, 0, `undo ${app}: ${u.stderr}`);
    }
    assert.equal(await readFile(path.join(home, '.claude', 'settings.json'), 'utf8'), claudeSettings);
    assert.ok(!existsSync(path.join(home, '.codex', 'config.toml')), 'the config setup created is gone');
    assert.ok(existsSync(path.join(home, '.codex', 'auth.json')), 'files setup did not write stay');
});
