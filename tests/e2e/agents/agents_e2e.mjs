// The coding agents themselves (Claude Code, Codex CLI, Gemini CLI from npm) run one-shot prompts
// offline through airlockd (base-URL set-up) against the fake provider; each must get its answer,
// and the ledger must attribute each request to the agent by name, with tokens counted.
// Run: AIRLOCKD=… AIRLOCKCTL=… node agents/agents_e2e.mjs   (after `npm ci` in tests/e2e/agents)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAirlockd, makeTempDir, removeDir, ledgerRequests, pollUntil } from '../lib.mjs';
import { startFakeProvider, outputText } from '../fake_provider.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.join(HERE, 'node_modules', '.bin');
const AGENT_TIMEOUT_MS = 120_000;
if (!existsSync(path.join(BIN, 'claude'))) {
    console.error(`coding agents are not installed: run \`npm ci\` in ${HERE}`);
    process.exit(1);
}

let fake;
let daemon;
let tmp;

before(async () => {
    tmp = await makeTempDir('airlock-agents-');
    fake = await startFakeProvider();
    daemon = await startAirlockd({
        dataDir: path.join(tmp, 'data'),
        upstreams: { openai: fake.url, anthropic: fake.url, gemini: fake.url },
    });
});

after(async () => {
    await daemon?.kill();
    await fake?.close();
    await removeDir(tmp);
});

// Runs an agent with a fresh HOME so nothing of the machine's own set-up leaks in.
function runAgent(name, args, env, stdin) {
    return new Promise((resolve, reject) => {
        const child = spawn(path.join(BIN, name), args, {
            cwd: tmp,
            env: { PATH: process.env.PATH, HOME: path.join(tmp, `home-${name}`), ...env },
            stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        });
        if (stdin !== undefined) child.stdin.end(stdin);
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => { out += d; });
        child.stderr.on('data', (d) => { err += d; });
        const timer = setTimeout(() => child.kill('SIGKILL'), AGENT_TIMEOUT_MS);
        child.once('error', reject);
        child.once('exit', (code) => {
            clearTimeout(timer);
            resolve({ code, out, err, pid: child.pid });
        });
    });
}

async function rowsOf(app) {
    return (await ledgerRequests(daemon.dataDir ?? path.join(tmp, 'data'), 1000)).filter((r) => r.app === app);
}

test('Claude Code answers through airlockd and is attributed as claude', async () => {
    await mkdir(path.join(tmp, 'home-claude'), { recursive: true });
    const r = await runAgent('claude', ['-p', 'say hi'], {
        ANTHROPIC_BASE_URL: daemon.url,
        ANTHROPIC_API_KEY: 'sk-ant-e2e',
        DISABLE_TELEMETRY: '1',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_AUTOUPDATER: '1',
    });
    assert.equal(r.code, 0, `claude failed: ${r.err.slice(-2000)}`);
    assert.match(r.out, new RegExp(outputText()));
    const rows = await pollUntil(async () => { const x = await rowsOf('claude'); return x.length ? x : null; },
        { what: 'a ledger row for claude' });
    const ok = rows.filter((x) => x.outcome === 'ok' && x.provider === 'anthropic');
    assert.ok(ok.length >= 1, JSON.stringify(rows));
    assert.ok(ok.every((x) => x.input_tokens > 0 && x.output_tokens > 0 && x.pid > 0));
});

test('Gemini CLI answers through airlockd and is attributed as gemini', async () => {
    const home = path.join(tmp, 'home-gemini');
    await mkdir(path.join(home, '.gemini'), { recursive: true });
    await writeFile(path.join(home, '.gemini', 'settings.json'),
        JSON.stringify({ security: { auth: { selectedType: 'gemini-api-key' } } }));
    const r = await runAgent('gemini', ['-p', 'say hi'], {
        GOOGLE_GEMINI_BASE_URL: daemon.url,
        GEMINI_API_KEY: 'gemini-e2e',
        GEMINI_CLI_TRUST_WORKSPACE: 'true',
    });
    assert.equal(r.code, 0, `gemini failed: ${r.err.slice(-2000)}`);
    assert.match(r.out, new RegExp(outputText()));
    const rows = await pollUntil(async () => { const x = await rowsOf('gemini'); return x.length ? x : null; },
        { what: 'a ledger row for gemini' });
    assert.ok(rows.some((x) => x.outcome === 'ok' && x.provider === 'gemini' && x.output_tokens > 0), JSON.stringify(rows));
});

test('Codex CLI answers through airlockd (Responses API over SSE) and is attributed as codex', async () => {
    const codexHome = path.join(tmp, 'codex-home');
    await mkdir(codexHome, { recursive: true });
    await mkdir(path.join(tmp, 'home-codex'), { recursive: true });
    await writeFile(path.join(codexHome, 'config.toml'),
        `model = "gpt-5-codex"\nopenai_base_url = "${daemon.url}/v1"\n`);
    // Codex 0.169 sends an API key only after a login (kept in CODEX_HOME/auth.json).
    const login = await runAgent('codex', ['login', '--with-api-key'], { CODEX_HOME: codexHome }, 'sk-e2e');
    assert.equal(login.code, 0, `codex login failed: ${login.err}`);
    const r = await runAgent('codex', ['exec', '--skip-git-repo-check', 'say hi'], { CODEX_HOME: codexHome });
    assert.equal(r.code, 0, `codex failed: ${(r.out + r.err).slice(-2000)}`);
    assert.match(r.out + r.err, new RegExp(outputText()));
    let seen = [];
    const rows = await pollUntil(async () => {
        seen = await ledgerRequests(path.join(tmp, 'data'), 1000);
        const x = seen.filter((row) => row.app.startsWith('codex'));
        return x.some((row) => row.outcome === 'ok') ? x : null;
    }, { what: 'an ok ledger row for codex', timeoutMs: 10000 }).catch((e) => {
        throw new Error(`${e.message}; ledger: ${JSON.stringify(seen.map((r) => [r.app, r.pid, r.endpoint, r.status, r.outcome]))}`);
    });
    const ok = rows.filter((x) => x.outcome === 'ok');
    assert.ok(ok.every((x) => x.provider === 'openai' && x.input_tokens > 0 && x.output_tokens > 0), JSON.stringify(ok));
});
