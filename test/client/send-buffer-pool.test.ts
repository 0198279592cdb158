/**
 * The pool of large request buffers (client/send-buffer-pool.ts) and when TfServingClient gives a
 * buffer back. The pool on its own: one call per buffer, capacity classes, the cap on owned bytes,
 * idle drop. Over real calls on 127.0.0.1, against a server that records the exact bytes of every
 * request it receives: a request replayed by a retry, a call cancelled as soon as it started (which
 * the pinned @grpc/grpc-js still sends, after reporting it cancelled), and many calls in flight on a
 * small pool all reach the server with their own bytes, so an upgrade of grpc-js that reads the
 * client's buffer later than the client assumes fails here.
 */
import * as grpc from "@grpc/grpc-js";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { modelSpecFor, TfServingClient } from "../../client/client";
import { CancelledError, RequestError } from "../../client/errors";
import type { PredictRequest, PredictResponse } from "../../client/messages";
import { encodePredictRequest, writePredictRequest } from "../../client/predict-wire";
import { methodDefinition, PREDICTION_SERVICE } from "../../client/protos";
import { capacityClass, DEFAULT_SEND_BUFFER_POOL, SendBufferPool } from "../../client/send-buffer-pool";
import { tensor, type Tensor } from "../../client/tensor-codec";

const MiB = 1024 * 1024;
const predict = methodDefinition<PredictRequest, PredictResponse>(PREDICTION_SERVICE, "Predict");

/** A float32 input of about 1.2 MB (pooled by default), different for every seed. */
const largeInput = (seed: number): Record<string, Tensor> => ({ x: tensor("DT_FLOAT", Float32Array.from({ length: 300_000 }, (_, i) => seed * 1_000_000 + i)) });

/** The bytes the client must send for `model` and `inputs`: the same writer, with a new buffer. */
const expectedBytes = (model: string, inputs: Record<string, Tensor>) => encodePredictRequest({ modelSpec: modelSpecFor({ model }), inputs });

describe("SendBufferPool", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("lends a buffer to one request at a time, and reuses it for the next request of its class once released", () => {
    const pool = new SendBufferPool();
    const a = pool.acquire(2 * MiB);
    const b = pool.acquire(2 * MiB);
    expect(a.bytes.length).toBe(2 * MiB);
    expect(a.bytes.buffer).not.toBe(b.bytes.buffer);
    a.release();
    const c = pool.acquire(2 * MiB - 100); // same class
    expect(c.bytes.buffer).toBe(a.bytes.buffer);
    expect(c.bytes.length).toBe(2 * MiB - 100);
    expect(pool.stats()).toMatchObject({ reused: 1, allocated: 2, overflowed: 0, lent: 2, idleBytes: 0, ownedBytes: 4 * MiB });
    // A second release of the same lease changes nothing: the buffer is not lent twice.
    a.release();
    expect(pool.acquire(2 * MiB).bytes.buffer).not.toBe(c.bytes.buffer);
  });

  it("rounds capacities up by at most an eighth, so a 64 MiB tensor's request takes a 72 MiB buffer", () => {
    expect(capacityClass(MiB)).toBe(MiB);
    expect(capacityClass(MiB + 1)).toBe(MiB + MiB / 8);
    expect(capacityClass(64 * MiB)).toBe(64 * MiB);
    expect(capacityClass(64 * MiB + 40)).toBe(72 * MiB);
    expect(capacityClass(127 * MiB)).toBe(128 * MiB);
    for (const size of [1_048_577, 3_333_333, 16 * MiB + 29, 50_000_000, 100 * MiB + 1]) {
      expect(capacityClass(size)).toBeGreaterThanOrEqual(size);
      expect(capacityClass(size)).toBeLessThanOrEqual(size * 1.125);
    }
    const pool = new SendBufferPool();
    const small = pool.acquire(2 * MiB);
    small.release();
    expect(pool.acquire(3 * MiB).bytes.buffer).not.toBe(small.bytes.buffer); // another class
  });

  it("never owns more than maxBytes: beyond it a request gets memory of its own, and idle buffers of other classes make room", () => {
    const pool = new SendBufferPool({ maxBytes: 5 * MiB });
    const first = pool.acquire(2 * MiB);
    const second = pool.acquire(2 * MiB);
    const third = pool.acquire(2 * MiB); // 6 MiB would exceed the cap
    expect(pool.stats()).toMatchObject({ ownedBytes: 4 * MiB, lent: 2, allocated: 2, overflowed: 1 });
    third.release(); // not the pool's: nothing comes back
    first.release();
    second.release();
    expect(pool.stats()).toMatchObject({ ownedBytes: 4 * MiB, idleBytes: 4 * MiB, lent: 0 });
    // A 3 MiB request: both idle 2 MiB buffers would leave no room, so the least recently released goes.
    const other = pool.acquire(3 * MiB);
    expect(other.bytes.buffer).not.toBe(first.bytes.buffer);
    expect(pool.stats()).toMatchObject({ ownedBytes: 5 * MiB, idleBytes: 2 * MiB, lent: 1, allocated: 3 });
    expect(pool.acquire(2 * MiB).bytes.buffer).toBe(second.bytes.buffer);
    // A request larger than the cap never enters the pool.
    pool.acquire(8 * MiB).release();
    expect(pool.stats()).toMatchObject({ ownedBytes: 5 * MiB, overflowed: 2 });
  });

  it("allocates per request below minBytes, or when off", () => {
    const pool = new SendBufferPool();
    const small = pool.acquire(DEFAULT_SEND_BUFFER_POOL.minBytes - 1);
    small.release();
    expect(pool.stats()).toMatchObject({ ownedBytes: 0, allocated: 0, reused: 0 });
    const off = new SendBufferPool(false);
    const a = off.acquire(2 * MiB);
    a.release();
    expect(off.acquire(2 * MiB).bytes.buffer).not.toBe(a.bytes.buffer);
    expect(off.stats()).toMatchObject({ maxBytes: 0, ownedBytes: 0 });
    expect(new SendBufferPool({ maxBytes: 0 }).stats().maxBytes).toBe(0);
  });

  it("drops idle buffers after idleMs without a pooled request, and keeps them while requests keep coming", () => {
    vi.useFakeTimers();
    const pool = new SendBufferPool({ idleMs: 1000 });
    pool.acquire(2 * MiB).release();
    vi.advanceTimersByTime(600);
    pool.acquire(2 * MiB).release(); // used again: the clock restarts
    vi.advanceTimersByTime(600);
    expect(pool.stats()).toMatchObject({ idleBytes: 2 * MiB, reused: 1 });
    vi.advanceTimersByTime(500);
    expect(pool.stats()).toMatchObject({ idleBytes: 0, ownedBytes: 0 });
    // A buffer lent when the rest is dropped stays counted until it comes back, then waits its own idleMs.
    const lent = pool.acquire(2 * MiB);
    pool.acquire(4 * MiB).release();
    vi.advanceTimersByTime(1500);
    expect(pool.stats()).toMatchObject({ ownedBytes: 2 * MiB, idleBytes: 0, lent: 1 });
    lent.release();
    expect(pool.stats().idleBytes).toBe(2 * MiB);
    vi.advanceTimersByTime(1000);
    expect(pool.stats().ownedBytes).toBe(0);
  });

  it("after close, lends nothing and lets lent buffers go when released", () => {
    const pool = new SendBufferPool();
    const lent = pool.acquire(2 * MiB);
    pool.acquire(2 * MiB).release();
    pool.close();
    expect(pool.stats()).toMatchObject({ maxBytes: 0, ownedBytes: 2 * MiB, idleBytes: 0, lent: 1 });
    lent.release();
    expect(pool.stats()).toMatchObject({ ownedBytes: 0, lent: 0 });
    pool.acquire(2 * MiB).release();
    expect(pool.stats().ownedBytes).toBe(0);
  });

  it("refuses options that are not non-negative integers, naming them", () => {
    expect(() => new SendBufferPool({ maxBytes: -1 })).toThrow(new RequestError("sendBufferPool.maxBytes must be a non-negative integer (got -1)"));
    expect(() => new SendBufferPool({ minBytes: 1.5 })).toThrow(/sendBufferPool\.minBytes must be a non-negative integer \(got 1\.5\)/);
    expect(() => new SendBufferPool({ idleMs: Number.NaN })).toThrow(/sendBufferPool\.idleMs/);
  });

  it("writes requests into a reused buffer byte for byte as into a new one, whatever the buffer held before", () => {
    const pool = new SendBufferPool();
    const earlier = writePredictRequest({ modelSpec: { name: "m" }, inputs: { x: tensor("DT_FLOAT", new Float32Array(300_000).fill(-1)) } }, pool);
    earlier.release();
    const inputs = { x: tensor("DT_FLOAT", Float32Array.from({ length: 299_000 }, (_, i) => i)), y: tensor("DT_INT64", [1n, -2n]), s: tensor("DT_STRING", ["a", "bc"]) };
    const parts = { modelSpec: modelSpecFor({ model: "m", version: 7, signature: "sig" }), inputs, outputFilter: ["out"] };
    const reused = writePredictRequest(parts, pool);
    expect(reused.bytes.buffer).toBe(earlier.bytes.buffer);
    expect(reused.bytes.equals(encodePredictRequest(parts))).toBe(true);
    expect(reused.bytes.equals(predict.requestSerialize(predict.requestDeserialize(reused.bytes)))).toBe(true);
  });
});

/** One request as the server received it. */
interface Received {
  model: string;
  bytes: Buffer;
}

/** The model a request names, or "(unreadable)" when its bytes are not a PredictRequest. */
function modelOf(bytes: Buffer): string {
  try {
    return predict.requestDeserialize(bytes).model_spec?.name ?? "";
  } catch {
    return "(unreadable)";
  }
}

/**
 * A PredictionService/Predict server on 127.0.0.1 that keeps the exact bytes of every request and
 * answers through `handle` (an empty PredictResponse by default; a status object fails the call).
 */
async function recordingServer(handle?: (request: Received, attempt: number) => Promise<grpc.StatusObject | void>) {
  const received: Received[] = [];
  const arrivals = new Map<string, (request: Received) => void>();
  const counts: { count: number; resolve: () => void }[] = [];
  const attempts = new Map<string, number>();
  const server = new grpc.Server({ "grpc.max_receive_message_length": -1 });
  const raw = (bytes: Buffer) => bytes;
  const definition = { Predict: { path: predict.path, requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw } };
  server.addService(definition, {
    Predict: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const request = { model: modelOf(call.request), bytes: Buffer.from(call.request) };
      received.push(request);
      const attempt = (attempts.get(request.model) ?? 0) + 1;
      attempts.set(request.model, attempt);
      arrivals.get(request.model)?.(request);
      for (const waiter of counts) if (received.length >= waiter.count) waiter.resolve();
      void (handle?.(request, attempt) ?? Promise.resolve()).then((status) => {
        if (status) callback(status);
        else callback(null, predict.responseSerialize({ model_spec: { name: request.model }, outputs: {} }));
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))));
  return {
    endpoint: `127.0.0.1:${port}`,
    received,
    /** Resolves when a request for `model` arrives. */
    arrival: (model: string) => new Promise<Received>((resolve) => arrivals.set(model, resolve)),
    /** Resolves once `count` requests have arrived, whatever they hold. */
    requests: (count: number) => new Promise<void>((resolve) => (received.length >= count ? resolve() : counts.push({ count, resolve }))),
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

type RecordingServer = Awaited<ReturnType<typeof recordingServer>>;

describe("TfServingClient request buffers over real calls", () => {
  const cleanups: (() => unknown)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const start = async (handle?: Parameters<typeof recordingServer>[0]): Promise<RecordingServer> => {
    const server = await recordingServer(handle);
    cleanups.push(() => server.close());
    return server;
  };
  const clientOf = (server: RecordingServer, options: Partial<ConstructorParameters<typeof TfServingClient>[0]> = {}) => {
    const client = new TfServingClient({ endpoint: server.endpoint, timeoutMs: 20_000, ...options });
    cleanups.push(() => client.close());
    return client;
  };

  it("a retry replays byte-identical bytes after other calls reused pooled buffers while it waited", async () => {
    let failFirstAttempt!: () => void;
    const firstAttemptMayFail = new Promise<void>((resolve) => (failFirstAttempt = resolve));
    const server = await start(async (request, attempt) => {
      if (request.model !== "retried" || attempt > 1) return;
      await firstAttemptMayFail;
      return { code: grpc.status.UNAVAILABLE, details: "first attempt fails", metadata: new grpc.Metadata() };
    });
    const retryPolicy = { maxAttempts: 2, initialBackoff: "0.01s", maxBackoff: "0.01s", backoffMultiplier: 1, retryableStatusCodes: ["UNAVAILABLE"] };
    const client = clientOf(server, {
      channelOptions: {
        "grpc.service_config": JSON.stringify({ methodConfig: [{ name: [{ service: PREDICTION_SERVICE }], retryPolicy }] }),
        // grpc-js only replays requests it kept: 1 MB per call by default, less than these.
        "grpc.per_rpc_retry_buffer_size": 8 * MiB,
      },
    });
    const retriedInputs = largeInput(1);
    const firstAttempt = server.arrival("retried");
    const retried = client.predict({ model: "retried", inputs: retriedInputs });
    await firstAttempt;
    // The first attempt was sent and is held by the server; its call has not ended. Other calls of the
    // same class come and go meanwhile, reusing one buffer among themselves, never the retried call's.
    for (let i = 0; i < 4; i++) await client.predict({ model: `other-${i}`, inputs: largeInput(10 + i) });
    expect(client.sendBufferPoolStats()).toMatchObject({ allocated: 2, reused: 3, lent: 1 });
    failFirstAttempt();
    await expect(retried).resolves.toMatchObject({ modelSpec: { name: "retried" } });

    const attempts = server.received.filter((r) => r.model === "retried");
    expect(attempts).toHaveLength(2);
    const expected = expectedBytes("retried", retriedInputs);
    expect(attempts[0]!.bytes.equals(expected)).toBe(true);
    expect(attempts[1]!.bytes.equals(expected)).toBe(true);
    for (let i = 0; i < 4; i++) expect(server.received.find((r) => r.model === `other-${i}`)!.bytes.equals(expectedBytes(`other-${i}`, largeInput(10 + i)))).toBe(true);
    expect(client.sendBufferPoolStats().lent).toBe(0);
  });

  it("a call cancelled as soon as it started is still sent by grpc-js, with its own bytes, though the next call starts at once", async () => {
    const server = await start();
    const client = clientOf(server);
    await client.predict({ model: "warm-up", inputs: largeInput(0) }); // connected, one buffer idle
    const controller = new AbortController();
    const cancelledInputs = largeInput(1);
    const nextInputs = largeInput(2);
    const allArrived = server.requests(3);
    const next = await new Promise<Promise<unknown>>((resolve, reject) => {
      // From a task of its own, as a timer or an I/O callback would: grpc-js reports the cancellation in
      // a nextTick, before the promise jobs that copy the request have run.
      setImmediate(() => {
        const cancelled = client.predict({ model: "cancelled", inputs: cancelledInputs }, { signal: controller.signal });
        controller.abort();
        cancelled.then(
          () => reject(new Error("the cancelled call succeeded")),
          (error: unknown) => {
            expect(error).toBeInstanceOf(CancelledError);
            // The very next thing the program does: another large call, which must not get the cancelled call's buffer.
            resolve(client.predict({ model: "next", inputs: nextInputs }));
          },
        );
      });
    });
    await next;
    await allArrived; // the warm-up, the cancelled call (sent anyway), the next call
    expect(server.received.map((r) => r.model).sort()).toEqual(["cancelled", "next", "warm-up"]);
    expect(server.received.find((r) => r.model === "cancelled")!.bytes.equals(expectedBytes("cancelled", cancelledInputs))).toBe(true);
    expect(server.received.find((r) => r.model === "next")!.bytes.equals(expectedBytes("next", nextInputs))).toBe(true);
    expect(client.sendBufferPoolStats()).toMatchObject({ allocated: 2, lent: 0 });
  });

  it("calls in flight on a small pool each keep their own buffer: the rest overflow, and reuse starts as calls end", async () => {
    const inFlight = 6;
    let arrived = 0;
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const server = await start(async () => {
      // The first wave is answered only once all of it has arrived: every call is in flight at once.
      if (++arrived === inFlight) openGate();
      if (arrived <= inFlight) await gate;
    });
    const capacity = capacityClass(expectedBytes("call-0", largeInput(0)).length);
    const client = clientOf(server, { sendBufferPool: { maxBytes: 3 * capacity } });
    const call = (i: number) => client.predict({ model: `call-${i}`, inputs: largeInput(i) });
    await Promise.all(Array.from({ length: inFlight }, (_, i) => call(i)));
    expect(client.sendBufferPoolStats()).toMatchObject({ allocated: 3, overflowed: 3, reused: 0, lent: 0, ownedBytes: 3 * capacity });
    // Then 4 workers, 16 calls: buffers go round between calls as they end.
    let next = inFlight;
    const worker = async () => {
      while (next < inFlight + 16) await call(next++);
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    const stats = client.sendBufferPoolStats();
    expect(stats.reused).toBeGreaterThan(0);
    expect(stats.ownedBytes).toBeLessThanOrEqual(3 * capacity);
    expect(stats.lent).toBe(0);
    expect(server.received).toHaveLength(inFlight + 16);
    for (const request of server.received) {
      const i = Number(request.model.slice("call-".length));
      expect(request.bytes.equals(expectedBytes(request.model, largeInput(i))), request.model).toBe(true);
    }
  });

  it("is off when channelOptions compress requests or add interceptors, or when turned off", async () => {
    const server = await start();
    const compressing = clientOf(server, { channelOptions: { "grpc.default_compression_algorithm": 2 } });
    const intercepted = clientOf(server, { channelOptions: { interceptors: [(options: grpc.InterceptorOptions, nextCall: grpc.NextCall) => new grpc.InterceptingCall(nextCall(options))] } });
    const off = clientOf(server, { sendBufferPool: false });
    for (const client of [compressing, intercepted, off]) {
      await client.predict({ model: "m", inputs: largeInput(3) });
      expect(client.sendBufferPoolStats()).toMatchObject({ maxBytes: 0, ownedBytes: 0 });
    }
    expect(server.received.every((r) => r.bytes.equals(expectedBytes("m", largeInput(3))))).toBe(true);
    expect(clientOf(server).sendBufferPoolStats().maxBytes).toBe(DEFAULT_SEND_BUFFER_POOL.maxBytes);
    expect(() => new TfServingClient({ endpoint: server.endpoint, sendBufferPool: { maxBytes: -5 } })).toThrow(/sendBufferPool\.maxBytes must be a non-negative integer \(got -5\)/);
  });
});
