// negentropy_interop.mjs — drives Hearth's C Negentropy (gossip/negentropy_interop)
// against the JavaScript Negentropy shipped in the npm package @nostr-dev-kit/sync.
//
//   node negentropy_interop.mjs gen --out DIR --n N --diff PCT --seed S [--empty js|c]
//       DIR/js.txt, DIR/c.txt: item sets ("TIMESTAMP HEX_ID" lines) with N items
//       in their union, PCT% of them on one side only (half each side), or
//       with --empty all N on one side and none on the named side;
//       DIR/js_only.txt, DIR/c_only.txt: the expected differences (sorted hex).
//   node negentropy_interop.mjs run --modules DIR --c-bin PATH --case DIR
//          --initiator js|c [--js-limit N] [--c-limit N]
//       Reconciles js.txt (JS side) with c.txt (C side, a child process speaking
//       hex lines on stdin/stdout) and checks that the initiator's have/need are
//       exactly the symmetric difference. Prints one JSON line; exit 0 if exact.
//
// --modules is the npm prefix holding node_modules/@nostr-dev-kit/sync.
// Timestamps stay below 2^31: that JS implementation encodes varints with
// 32-bit operators.

import { spawn } from "node:child_process";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createInterface } from "node:readline";

function args(argv) {
    const out = { _: argv[0] };
    for (let i = 1; i < argv.length; i += 2) {
        if (!argv[i].startsWith("--") || i + 1 >= argv.length) throw new Error(`bad argument ${argv[i]}`);
        out[argv[i].slice(2)] = argv[i + 1];
    }
    return out;
}

// A seeded 32-bit mixer (splitmix-style): reproducible sets from --seed.
function rng(seed) {
    let s = seed >>> 0;
    return () => {
        s = (s + 0x9e3779b9) >>> 0;
        let z = s;
        z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
        z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
        return (z ^ (z >>> 16)) >>> 0;
    };
}

function hexId(next) {
    let h = "";
    for (let i = 0; i < 8; i++) h += next().toString(16).padStart(8, "0");
    return h;
}

function gen(o) {
    const n = Number(o.n), pct = Number(o.diff), next = rng(Number(o.seed || 1));
    const diff = Math.round((n * pct) / 100);
    const tsRange = Math.max(1, Math.floor(n / 4)); // ~4 items per timestamp: id-prefix bounds
    const js = [], c = [], jsOnly = [], cOnly = [];
    const seen = new Set();
    for (let i = 0; i < n; i++) {
        let id;
        do id = hexId(next); while (seen.has(id));
        seen.add(id);
        const line = `${1 + (next() % tsRange)} ${id}`;
        if (o.empty === "c") { js.push(line); jsOnly.push(id); }
        else if (o.empty === "js") { c.push(line); cOnly.push(id); }
        else if (i < n - diff) { js.push(line); c.push(line); }
        else if ((i - (n - diff)) % 2 === 0) { js.push(line); jsOnly.push(id); }
        else { c.push(line); cOnly.push(id); }
    }
    mkdirSync(o.out, { recursive: true });
    const w = (f, lines) => writeFileSync(join(o.out, f), lines.length ? lines.join("\n") + "\n" : "");
    w("js.txt", js); w("c.txt", c); w("js_only.txt", jsOnly.sort()); w("c_only.txt", cOnly.sort());
}

async function loadSync(modules) {
    const dir = join(modules, "node_modules", "@nostr-dev-kit", "sync");
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    const entry = pkg.exports?.["."]?.import?.default || pkg.module || pkg.main;
    return import(pathToFileURL(join(dir, entry)).href);
}

const toHex = (u8) => Buffer.from(u8).toString("hex");
const fromHex = (s) => new Uint8Array(Buffer.from(s, "hex"));

function readLines(path) {
    const text = readFileSync(path, "utf8");
    return text.split("\n").filter((l) => l.length > 0);
}

async function run(o) {
    const lib = await loadSync(o.modules);
    const storage = new lib.NegentropyStorage();
    for (const line of readLines(join(o.case, "js.txt"))) {
        const [ts, id] = line.split(" ");
        storage.insert(Number(ts), id);
    }
    storage.seal();
    const jsLimit = Number(o["js-limit"] || 0), cLimit = Number(o["c-limit"] || 0);
    const ne = new lib.Negentropy(storage, jsLimit);
    const jsInitiates = o.initiator === "js";
    const resultPath = join(o.case, `result_${o.initiator}_${jsLimit}_${cLimit}.txt`);
    const childArgs = ["--items", join(o.case, "c.txt"), "--role", jsInitiates ? "responder" : "initiator",
                       "--frame-size-limit", String(cLimit)];
    if (!jsInitiates) childArgs.push("--result", resultPath);
    const child = spawn(o["c-bin"], childArgs, { stdio: ["pipe", "pipe", "inherit"] });
    const exited = new Promise((resolve) => child.on("close", (code) => resolve(code)));
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const send = (u8) => child.stdin.write(toHex(u8) + "\n");

    let have = [], need = [], rounds = 0, bytesOut = 0, bytesIn = 0, maxMsg = 0;
    const seeIn = (n) => { bytesIn += n; maxMsg = Math.max(maxMsg, n); };
    const seeOut = (n) => { bytesOut += n; maxMsg = Math.max(maxMsg, n); };
    if (jsInitiates) {
        let msg = await ne.initiate();
        while (msg) {
            rounds++;
            seeOut(msg.length);
            send(msg);
            const line = await lines.next();
            if (line.done) throw new Error("C responder closed its output");
            const reply = fromHex(line.value);
            seeIn(reply.length);
            const r = await ne.reconcile(reply);
            have.push(...r.have.map(toHex));
            need.push(...r.need.map(toHex));
            msg = r.nextMessage;
        }
        child.stdin.end();
    } else {
        for (;;) {
            const line = await lines.next();
            if (line.done) break;                    // the C initiator is done
            const msg = fromHex(line.value);
            rounds++;
            seeIn(msg.length);
            const r = await ne.reconcile(msg);
            seeOut(r.nextMessage.length);
            send(r.nextMessage);
        }
        child.stdin.end();
    }
    const code = await exited;
    if (code !== 0) throw new Error(`C side exited with ${code}`);
    if (!jsInitiates) {
        for (const line of readLines(resultPath)) {
            const [tag, id] = line.split(" ");
            (tag === "have" ? have : need).push(id);
        }
    }
    // The initiator's have = its own side's private items; need = the other side's.
    const expectHave = readLines(join(o.case, jsInitiates ? "js_only.txt" : "c_only.txt"));
    const expectNeed = readLines(join(o.case, jsInitiates ? "c_only.txt" : "js_only.txt"));
    // Compared as sets; repeats are counted separately. Hearth's initiator
    // never repeats an id; the JS initiator can, when a responder's frame
    // limit makes it revisit settled ranges (see docs/sync.md).
    const same = (got, want) => {
        const g = [...new Set(got)].sort();
        return g.length === want.length && g.every((v, i) => v === want[i]);
    };
    const repeats = have.length - new Set(have).size + need.length - new Set(need).size;
    const exact = same(have, expectHave) && same(need, expectNeed) && (jsInitiates || repeats === 0);
    console.log(JSON.stringify({
        case: o.case, initiator: o.initiator, js_limit: jsLimit, c_limit: cLimit, rounds,
        js_bytes_out: bytesOut, js_bytes_in: bytesIn, largest_message: maxMsg,
        have: have.length, need: need.length, repeats, expect_have: expectHave.length,
        expect_need: expectNeed.length, exact,
    }));
    return exact ? 0 : 1;
}

const o = args(process.argv.slice(2));
try {
    if (o._ === "gen") { gen(o); process.exit(0); }
    else if (o._ === "run") process.exit(await run(o));
    else { console.error("usage: negentropy_interop.mjs gen|run ..."); process.exit(2); }
} catch (e) {
    console.error(`negentropy_interop.mjs: ${e.stack || e}`);
    process.exit(1);
}
