// Open-loop load at a fixed rate, for latency at a given throughput (bench/check-throughput.ts
// runs it as a child process). autocannon's --overallRate sends each connection's quota in a
// burst at the start of every second, which measures burst queueing rather than latency at a
// steady rate; this sends on a 1 ms schedule and times each request from when it was DUE, so
// a stall on the server side shows up in the percentiles instead of being hidden
// (coordinated omission).
//   node bench/open-loop.mjs URL RATE SECONDS BODY [TOKEN]  → one JSON line on stdout
import { Buffer } from 'node:buffer';
import http from 'node:http';
import { clearInterval, setInterval } from 'node:timers';

const [url, rateText, secondsText, body, token] = process.argv.slice(2);
const rate = Number(rateText);
const seconds = Number(secondsText);
const target = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
if (token) headers.authorization = `Bearer ${token}`;

const latencies = [];
let errors = 0;
let non2xx = 0;
let inFlight = 0;
const total = Math.round(rate * seconds);
let sent = 0;
const start = process.hrtime.bigint();
const nowMs = () => Number(process.hrtime.bigint() - start) / 1e6;

function fire(dueMs) {
  inFlight++;
  const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers, agent }, (res) => {
    res.resume();
    res.on('end', () => {
      inFlight--;
      if (res.statusCode < 200 || res.statusCode >= 300) non2xx++;
      latencies.push(nowMs() - dueMs);
    });
  });
  req.on('error', () => {
    inFlight--;
    errors++;
  });
  req.end(body);
}

await new Promise((resolve) => {
  const timer = setInterval(() => {
    const tick = nowMs();
    const due = Math.min(total, Math.floor((tick * rate) / 1000));
    while (sent < due) {
      // Timed from when it was due, but not before this 1 ms tick's start: the schedule's own
      // granularity is not the server's latency; a longer stall (ours or the server's) counts.
      fire(Math.max((sent * 1000) / rate, tick - 1));
      sent++;
    }
    if (sent >= total) {
      clearInterval(timer);
      resolve();
    }
  }, 1);
});
const deadline = Date.now() + 10_000;
while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
const elapsed = nowMs() / 1000;
latencies.sort((a, b) => a - b);
const pct = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] : NaN);
console.log(JSON.stringify({ rps: latencies.length / elapsed, p50: pct(50), p90: pct(90), p99: pct(99), max: latencies.at(-1) ?? NaN, errors, non2xx, sent }));
agent.destroy();
