// Governance end to end: a bundle signed with `airlockctl policy keygen/sign`, served by a real
// HTTP server, synced by a real airlockd (`airlockctl policy sync`), enforced on real openai and
// @anthropic-ai/sdk clients against the fake provider: model deny, alias rewrite, budgets soft
// then hard, RPM/TPM/concurrency, guardrail block and redaction (also on streams, /v1/responses
// and Anthropic tool results), then monitor mode on a second daemon.
// Run: AIRLOCKD=… AIRLOCKCTL=… node policy_e2e.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import {
    requireNodeModules, quietModelDeprecationWarnings, startAirlockd, makeTempDir, removeDir,
    runCtlRaw, runCtlJson, waitForLedgerIds, httpRequest,
} from './lib.mjs';
import { startFakeProvider } from './fake_provider.mjs';

await requireNodeModules();
quietModelDeprecationWarnings();
const { default: OpenAI } = await import('openai');
const { default: Anthropic } = await import('@anthropic-ai/sdk');

const BUNDLE = {
    version: 1,
    issued_at: '2026-01-01T00:00:00Z',
    expires_at: '2099-01-01T00:00:00Z',
    profiles: {
        default: {
            mode: 'enforce',
            fail_mode: 'closed',
            models: {
                allow: ['gpt-4o*', 'claude-*', 'budget-*', 'rl-*', 'text-embedding-*'],
                deny: ['*-preview'],
                aliases: { 'gpt-4o': 'gpt-4o-mini' },
            },
            budgets: [{ period: 'day', tokens: 60, warn_at: 0.5, models: ['budget-*'] }],
            rate_limits: [
                { rpm: 3, models: ['rl-rpm'] },
                { tpm: 300, models: ['rl-tpm'] },
                { concurrent: 1, models: ['rl-conc'] },
            ],
            guardrails: {
                detectors: { credit_card: 'block', us_ssn: 'block', api_key: 'block', email: 'redact' },
                patterns: [{ name: 'project-x', regex: 'PROJECT-X-[0-9]+', action: 'block' }],
            },
        },
    },
};
const MONITOR_BUNDLE = {
    ...BUNDLE,
    version: 2,
    profiles: { default: { ...BUNDLE.profiles.default, mode: 'monitor' } },
};

let fake;
let dir;
let bundleServer;
const served = { body: '' };
let daemon;
let openai;      // no retries: limit tests look at the first answer
let openaiRetrying;  // default retries: proves x-should-retry: false is honoured
let anthropic;
let fetchCalls = 0;

async function ctl(...args) {
    return runCtlRaw(['--data-dir', daemon.dataDir, ...args]);
}

async function signBundle(bundle, name) {
    const file = path.join(dir, `${name}.json`);
    await fsp.writeFile(file, JSON.stringify(bundle, null, 2));
    const lint = await runCtlRaw(['policy', 'lint', file]);
    assert.equal(lint.code, 0, lint.stderr);
    const signed = await runCtlRaw(['policy', 'sign', '--key', path.join(dir, 'keys', 'policy-signing.key'), file]);
    assert.equal(signed.code, 0, signed.stderr);
    const signedFile = path.join(dir, `${name}.signed.json`);
    await fsp.writeFile(signedFile, signed.stdout);
    const verify = await runCtlRaw(['policy', 'verify', '--pub', path.join(dir, 'keys', 'policy-signing.pub'), signedFile]);
    assert.equal(verify.code, 0, verify.stderr);
    return signed.stdout;
}

async function startDaemon(name) {
    const dataDir = path.join(dir, name);
    await fsp.mkdir(dataDir);
    const d = await startAirlockd({
        dataDir,
        upstreams: { openai: fake.url, anthropic: fake.url },
        config: {
            policy: {
                url: `http://127.0.0.1:${bundleServer.address().port}/bundle.json`,
                trusted_keys: [path.join(dir, 'keys', 'policy-signing.pub')],
                poll_seconds: 3600,
                token_env: 'AIRLOCK_E2E_DEVICE_TOKEN',
            },
        },
        env: { AIRLOCK_E2E_DEVICE_TOKEN: 'device-token-e2e', AIRLOCK_MANAGED_CONFIG: path.join(dir, 'no-managed.json') },
    });
    return d;
}

function clients(url) {
    const countingFetch = async (u, init) => {
        fetchCalls++;
        return fetch(u, init);
    };
    openai = new OpenAI({ apiKey: 'sk-test', baseURL: `${url}/v1`, maxRetries: 0 });
    openaiRetrying = new OpenAI({ apiKey: 'sk-test', baseURL: `${url}/v1`, fetch: countingFetch });
    anthropic = new Anthropic({ apiKey: 'sk-ant-test', baseURL: url, maxRetries: 0 });
}

function fakeRequestsFor(model) {
    return fake.requests.filter((r) => r.json?.model === model);
}

async function expectError(promise, status) {
    try {
        await promise;
    } catch (e) {
        assert.equal(e.status, status, `expected HTTP ${status}, got ${e.status}: ${e.message}`);
        return e;
    }
    assert.fail(`expected HTTP ${status}, the request succeeded`);
}

before(async () => {
    dir = await makeTempDir('airlock-policy-e2e-');
    fake = await startFakeProvider({ port: 0 });
    const keygen = await runCtlRaw(['policy', 'keygen', '--out', path.join(dir, 'keys')]);
    assert.equal(keygen.code, 0, keygen.stderr);
    served.body = await signBundle(BUNDLE, 'bundle');
    served.auth = [];
    bundleServer = http.createServer((req, res) => {
        served.auth.push(req.headers.authorization);
        res.writeHead(200, { 'content-type': 'application/json', etag: `"${served.body.length}"` });
        res.end(served.body);
    });
    await new Promise((r) => bundleServer.listen(0, '127.0.0.1', r));
    daemon = await startDaemon('enforce');
    const sync = await ctl('policy', 'sync');
    assert.equal(sync.code, 0, `${sync.stderr}${sync.stdout}\n${daemon.log()}`);
    assert.match(sync.stdout, /version 1/);
    assert.ok(served.auth.includes('Bearer device-token-e2e'), 'the device token from policy.token_env is sent');
    clients(daemon.url);
});

after(async () => {
    await daemon?.stop();
    await fake?.close();
    bundleServer?.close();
    await removeDir(dir);
});

test('policy show reports the bundle in force', async () => {
    const shown = await runCtlJson(['--data-dir', daemon.dataDir, 'policy', 'show', '--json']);
    assert.equal(shown.state, 'active');
    assert.equal(shown.version, 1);
    assert.match(shown.source, /bundle\.json$/);
    assert.equal(shown.profile, 'default');
    assert.deepEqual(shown.bundle.profiles.default.models.deny, ['*-preview']);
});

test('a denied model raises PermissionDeniedError with a readable message', async () => {
    const e = await expectError(openai.chat.completions.create({
        model: 'o1-preview', messages: [{ role: 'user', content: 'hi' }] }), 403);
    assert.ok(e instanceof OpenAI.PermissionDeniedError);
    assert.match(e.message, /Model 'o1-preview' is not allowed by Airlock policy/);
    assert.equal(fakeRequestsFor('o1-preview').length, 0);
    const a = await expectError(anthropic.messages.create({
        model: 'claude-x-preview', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }), 403);
    assert.ok(a instanceof Anthropic.PermissionDeniedError);
});

test('an alias reaches the upstream as its target model', async () => {
    const r = await openai.chat.completions.create({
        model: 'gpt-4o', messages: [{ role: 'user', content: 'alias please' }] },
    { headers: { 'x-e2e-case': 'alias' } });
    assert.ok(r.choices[0].message.content.length > 0);
    const seen = fake.requests.filter((q) => q.headers['x-e2e-case'] === 'alias');
    assert.equal(seen.length, 1);
    assert.equal(seen[0].json.model, 'gpt-4o-mini');
});

test('a budget warns (soft) then refuses with insufficient_quota, and the SDK does not retry', async () => {
    let warned = 0;
    let unwarned = 0;
    let refused;
    for (let i = 0; i < 20 && !refused; i++) {
        const before = fetchCalls;
        try {
            const { response } = await openaiRetrying.chat.completions.create({
                model: 'budget-model', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
            if (response.headers.get('x-airlock-budget-warning')) warned++;
            else {
                assert.equal(warned, 0, 'no request goes back below the warning threshold');
                unwarned++;
            }
        } catch (e) {
            refused = e;
            assert.equal(fetchCalls - before, 1, 'the SDK did not retry the exhausted budget');
        }
    }
    assert.ok(unwarned >= 1, 'the first request is under the threshold');
    assert.ok(warned >= 1, 'a warning header came before the hard stop');
    assert.ok(refused, 'the budget was exhausted');
    assert.equal(refused.status, 429);
    assert.equal(refused.code, 'insufficient_quota');
    assert.equal(refused.headers.get('x-should-retry'), 'false');
    const budgets = await runCtlJson(['--data-dir', daemon.dataDir, 'budgets', '--json']);
    const row = budgets.budgets.find((b) => b.period === 'day' && b.limit_tokens === 60);
    assert.ok(row, JSON.stringify(budgets));
    assert.ok(row.spent_tokens > 0 && row.spent_tokens <= 60, JSON.stringify(row));
});

test('requests per minute: the 4th request gets 429 with Retry-After', async () => {
    for (let i = 0; i < 3; i++) {
        await openai.chat.completions.create({ model: 'rl-rpm', messages: [{ role: 'user', content: 'x' }] });
    }
    const e = await expectError(openai.chat.completions.create({
        model: 'rl-rpm', messages: [{ role: 'user', content: 'x' }] }), 429);
    assert.ok(e instanceof OpenAI.RateLimitError);
    const retryAfter = Number(e.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `retry-after ${retryAfter}`);
    assert.match(e.message, /requests per minute/);
});

test('tokens per minute: a second large request is refused with Retry-After', async () => {
    const words = Array.from({ length: 250 }, (_, i) => `w${i}`).join(' ');
    await openai.chat.completions.create({ model: 'rl-tpm', max_tokens: 5, messages: [{ role: 'user', content: words }] });
    const e = await expectError(openai.chat.completions.create({
        model: 'rl-tpm', max_tokens: 5, messages: [{ role: 'user', content: words }] }), 429);
    assert.match(e.message, /tokens per minute/);
    assert.ok(Number(e.headers.get('retry-after')) >= 1);
});

test('concurrency: a second request while one streams gets 429, then passes after it ends', async () => {
    const stream = await openai.chat.completions.create({
        model: 'rl-conc', stream: true, messages: [{ role: 'user', content: 'slow' }] },
    { headers: { 'x-fake-chunk-delay-ms': '150' } });
    const e = await expectError(anthropic.messages.create({
        model: 'rl-conc', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }), 429);
    assert.ok(e instanceof Anthropic.RateLimitError);
    assert.match(e.message, /concurrent/);
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    assert.ok(text.length > 0);
    // settle() ran when the stream ended, so the slot is free again (poll: the ledger finishes it).
    let ok = false;
    for (let i = 0; i < 50 && !ok; i++) {
        try {
            await openai.chat.completions.create({ model: 'rl-conc', messages: [{ role: 'user', content: 'x' }] });
            ok = true;
        } catch (err) {
            if (err.status !== 429) throw err;
            await new Promise((r) => setTimeout(r, 20));
        }
    }
    assert.ok(ok, 'the concurrency slot was released');
});

test('guardrails block a credit card (and pass a number failing Luhn)', async () => {
    const e = await expectError(openai.chat.completions.create({
        model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'pay with 4111 1111 1111 1111 please' }] },
    { headers: { 'x-e2e-case': 'card' } }), 403);
    assert.ok(e instanceof OpenAI.PermissionDeniedError);
    assert.match(e.message, /credit card number/);
    assert.doesNotMatch(e.message, /4111/);
    assert.equal(fake.requests.filter((q) => q.headers['x-e2e-case'] === 'card').length, 0);
    await openai.chat.completions.create({
        model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'order 4111 1111 1111 1112 shipped' }] },
    { headers: { 'x-e2e-case': 'not-a-card' } });
    const seen = fake.requests.filter((q) => q.headers['x-e2e-case'] === 'not-a-card');
    assert.equal(seen.length, 1);
    assert.match(seen[0].body, /4111 1111 1111 1112/);
});

test('redaction reaches the upstream redacted (OpenAI message, Anthropic tool_result)', async () => {
    await openai.chat.completions.create({
        model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'write to jane.doe@example.com today' }] },
    { headers: { 'x-e2e-case': 'redact-openai' } });
    await anthropic.messages.create({
        model: 'claude-sonnet-4-5', max_tokens: 5,
        messages: [
            { role: 'user', content: 'look up the user' },
            { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { q: 'u' } }] },
            { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'found bob@corp.example.org' }] },
        ] }, { headers: { 'x-e2e-case': 'redact-anthropic' } });
    const upstream = JSON.parse((await httpRequest(`${fake.url}/__fake/requests`)).body);
    const list = Array.isArray(upstream) ? upstream : upstream.requests;
    const o = list.find((q) => q.headers['x-e2e-case'] === 'redact-openai');
    const a = list.find((q) => q.headers['x-e2e-case'] === 'redact-anthropic');
    assert.ok(o && a, 'both reached the fake provider');
    assert.doesNotMatch(o.body, /jane\.doe@example\.com/);
    assert.match(o.body, /\[REDACTED:email\]/);
    assert.doesNotMatch(a.body, /bob@corp\.example\.org/);
    assert.match(a.body, /\[REDACTED:email\]/);
    assert.equal(a.json.messages[2].content[0].type, 'tool_result');
});

test('a stream with a secret is blocked before any byte; /v1/responses is scanned too', async () => {
    const e = await expectError(openai.chat.completions.create({
        model: 'gpt-4o-mini', stream: true,
        messages: [{ role: 'user', content: 'my key is sk-proj-AbC123dEf456GhI789jKl012MnO' }] },
    { headers: { 'x-e2e-case': 'stream-block' } }), 403);
    assert.match(e.message, /API key/);
    assert.equal(fake.requests.filter((q) => q.headers['x-e2e-case'] === 'stream-block').length, 0);
    const r = await expectError(openai.responses.create({
        model: 'gpt-4o-mini', input: [{ role: 'user', content: [{ type: 'input_text', text: 'ssn 123-45-6789' }] }] }), 403);
    assert.match(r.message, /social security/);
    const p = await expectError(openai.responses.create({ model: 'gpt-4o-mini', input: 'status of PROJECT-X-12' }), 403);
    assert.match(p.message, /project-x/);
});

test('decisions are recorded in the ledger with profile and rule, without content', async () => {
    const rows = await runCtlJson(['--data-dir', daemon.dataDir, 'requests', '--json', '--limit', '200']);
    const blocked = rows.requests.filter((r) => r.rule === 'guardrail:credit_card');
    assert.ok(blocked.length >= 1);
    assert.equal(blocked[0].profile, 'default');
    assert.equal(blocked[0].outcome, 'blocked');
    assert.doesNotMatch(JSON.stringify(rows), /4111 1111 1111 1111|jane\.doe@example\.com/);
    assert.ok(rows.requests.some((r) => r.outcome === 'budget_exceeded'));
    assert.ok(rows.requests.some((r) => r.outcome === 'rate_limited'));
});

test('monitor mode blocks nothing and records what it would have done', async () => {
    served.body = await signBundle(MONITOR_BUNDLE, 'monitor');
    const sync = await ctl('policy', 'sync');
    assert.equal(sync.code, 0, sync.stderr);
    assert.match(sync.stdout, /version 2/);
    await openai.chat.completions.create({
        model: 'o1-preview', messages: [{ role: 'user', content: 'card 4111 1111 1111 1111 mail a@example.com' }] },
    { headers: { 'x-e2e-case': 'monitor' } });
    const seen = fake.requests.filter((q) => q.headers['x-e2e-case'] === 'monitor');
    assert.equal(seen.length, 1, 'the request went through');
    assert.match(seen[0].body, /a@example\.com/, 'monitor does not redact');
    const rows = await runCtlJson(['--data-dir', daemon.dataDir, 'requests', '--json', '--limit', '5']);
    const row = rows.requests.find((x) => x.model === 'o1-preview' && x.outcome === 'ok');
    assert.ok(row, JSON.stringify(rows.requests.slice(0, 3)));
    assert.match(row.rule, /^monitor:/);
    assert.match(row.rule, /models:o1-preview/);
    assert.match(row.rule, /guardrail:credit_card/);
    // A rollback to version 1 is refused with the reason, and version 2 stays.
    served.body = await fsp.readFile(path.join(dir, 'bundle.signed.json'), 'utf8');
    const back = await ctl('policy', 'sync');
    assert.notEqual(back.code, 0);
    assert.match(back.stderr, /rollback/);
    const shown = await runCtlJson(['--data-dir', daemon.dataDir, 'policy', 'show', '--json']);
    assert.equal(shown.version, 2);
    assert.equal(shown.state, 'rejected');
});

test('the response cache answers an identical call without the provider (openai SDK)', async () => {
    // Its own daemon and bundle: a cache on the shared profile would change the other tests.
    const CACHE_BUNDLE = {
        version: 1,
        issued_at: '2026-01-01T00:00:00Z',
        expires_at: '2099-01-01T00:00:00Z',
        profiles: { default: { mode: 'enforce', cache: { ttl_seconds: 600, max_bytes: 1048576 } } },
    };
    const signed = await signBundle(CACHE_BUNDLE, 'cache');
    const server = http.createServer((req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(signed);
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const dataDir = path.join(dir, 'cache');
    await fsp.mkdir(dataDir);
    const d = await startAirlockd({
        dataDir,
        upstreams: { openai: fake.url },
        config: {
            policy: {
                url: `http://127.0.0.1:${server.address().port}/bundle.json`,
                trusted_keys: [path.join(dir, 'keys', 'policy-signing.pub')],
                poll_seconds: 3600,
            },
        },
        env: { AIRLOCK_MANAGED_CONFIG: path.join(dir, 'no-managed.json') },
    });
    try {
        const sync = await runCtlRaw(['--data-dir', dataDir, 'policy', 'sync']);
        assert.equal(sync.code, 0, `${sync.stderr}${sync.stdout}\n${d.log()}`);
        const client = new OpenAI({ apiKey: 'sk-test', baseURL: `${d.url}/v1`, maxRetries: 0 });
        const params = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'cache me, e2e' }] };
        const opts = { headers: { 'x-e2e-case': 'cache' } };
        const first = await client.chat.completions.create(params, opts).withResponse();
        assert.equal(first.response.headers.get('x-airlock-cache'), 'miss');
        const second = await client.chat.completions.create(params, opts).withResponse();
        assert.equal(second.response.headers.get('x-airlock-cache'), 'hit');
        assert.deepEqual(second.data, first.data, 'the same answer, byte for byte');
        const upstream = JSON.parse((await httpRequest(`${fake.url}/__fake/requests`)).body);
        const list = Array.isArray(upstream) ? upstream : upstream.requests;
        assert.equal(list.filter((q) => q.headers['x-e2e-case'] === 'cache').length, 1,
            'the fake provider saw one request');
        const streamed = await client.chat.completions.create({ ...params, stream: true }, opts).asResponse();
        assert.equal(streamed.headers.get('x-airlock-cache'), 'bypass');
        await streamed.text();
        const hitId = second.response.headers.get('x-airlock-request-id');
        const rows = await waitForLedgerIds(dataDir, [hitId], { limit: 10 });
        const hit = rows.find((r) => r.id === hitId);
        assert.equal(hit.rule, 'cache:hit');
        assert.equal(hit.outcome, 'ok');
        assert.equal(hit.cost_usd, 0);
        assert.ok(hit.input_tokens > 0, 'tokens are recorded as in the cached answer');
    } finally {
        await d.stop();
        server.close();
    }
});
