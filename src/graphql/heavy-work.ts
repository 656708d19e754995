import { GraphQLError } from "graphql/index.js";
import type { FlorContext } from "./builder.js";

/** Heavy fields (planning, git reads) running at once, server-wide. */
export const HEAVY_SLOTS = 2;
/** Heavy fields waiting for a slot, server-wide; one more is refused with SERVER_BUSY. */
export const HEAVY_QUEUE = 64;

/** A heavy field's hold on its slot: `release()` hands it on early, e.g. when the work turns to waiting. */
export interface Slot {
  release(): void;
}

interface Waiter {
  start: () => void;
}

/**
 * The slots heavy fields take turns in. Planning a FlorQL query or a replay and reading versions from
 * git use the CPU of the server's one thread and child processes: run all at once, a few aliased fields
 * in a few requests kept every other request waiting for seconds. Here at most `slots` run at once and
 * the rest wait in order, so a cheap request always finds the server free within one heavy field's
 * time. A waiting field whose operation was aborted (timed out, client gone) never starts; one that
 * started keeps its slot until it ends, so abandoned work does not pile up under new work.
 */
export class HeavyWork {
  private running = 0;
  private started = 0;
  private readonly waiting: Waiter[] = [];

  constructor(
    readonly slots = HEAVY_SLOTS,
    readonly queue = HEAVY_QUEUE,
  ) {}

  /** Runs `work` in a slot, once one is free; rejects with the signal's reason if it aborts first. */
  async run<T>(signal: AbortSignal | undefined, work: (slot: Slot) => Promise<T>): Promise<T> {
    signal?.throwIfAborted();
    if (this.running >= this.slots) await this.turn(signal);
    else this.running++;
    let held = true;
    const slot = {
      release: () => {
        if (!held) return;
        held = false;
        this.next();
      },
    };
    try {
      signal?.throwIfAborted();
      this.started++;
      return await work(slot);
    } finally {
      slot.release();
    }
  }

  /** Heavy fields running and waiting now, and how many have started since the server started. */
  get load(): { running: number; waiting: number; started: number } {
    return { running: this.running, waiting: this.waiting.length, started: this.started };
  }

  private turn(signal: AbortSignal | undefined): Promise<void> {
    if (this.waiting.length >= this.queue) {
      throw new GraphQLError(`the server is busy: ${this.running} heavy fields run and ${this.waiting.length} wait; ask again shortly`, {
        extensions: { code: "SERVER_BUSY" },
      });
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const index = this.waiting.indexOf(waiter);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        start: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  /** A slot came free: the next waiter takes it over (the count stays), or it is returned. */
  private next(): void {
    const waiter = this.waiting.shift();
    if (waiter === undefined) this.running--;
    else waiter.start();
  }
}

/** Runs a heavy field's work in one of the server's slots (see HeavyWork), or at once without them. */
export function heavy<T>(context: FlorContext, work: (slot: Slot) => Promise<T>): Promise<T> {
  if (context.heavy === undefined) return work({ release: () => undefined });
  return context.heavy.run(context.signal, work);
}
