// The clock every domain asks for the time, passed in so tests can set it.
export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };
