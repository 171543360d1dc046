/**
 * Events per second over the last whole second, as ustreamer reports fps: a counter per
 * second, so marking costs an increment and a clock read.
 */
export class RateMeter {
  #second = 0;
  #count = 0;
  #previous = 0;
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Counts one event, or `amount` (e.g. bits, to meter a bitrate). */
  mark(amount = 1): void {
    this.#roll();
    this.#count += amount;
  }

  /** Events counted in the last whole second (0 when idle for longer). */
  get rate(): number {
    this.#roll();
    return this.#previous;
  }

  #roll(): void {
    const second = Math.floor(this.#now() / 1000);
    if (second === this.#second) return;
    this.#previous = second === this.#second + 1 ? this.#count : 0;
    this.#second = second;
    this.#count = 0;
  }
}
