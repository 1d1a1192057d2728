import { describe, expect, it } from 'vitest';
import { RequestBudget } from './request-budget.js';

class Connection {
  paused = false;
  pauses = 0;
  pauseReading(): void {
    this.paused = true;
    this.pauses++;
  }
  resumeReading(): void {
    this.paused = false;
  }
}

describe('RequestBudget', () => {
  it('pauses a connection at its outstanding limit and resumes it on its own answers', () => {
    const budget = new RequestBudget<Connection>(3, 1_000_000);
    const a = new Connection();
    const b = new Connection();
    expect(budget.received(a, 1, 10)).toBeNull();
    expect(budget.received(a, 2, 10)).toBeNull();
    expect(budget.received(b, 1, 10)).toBeNull();
    expect(budget.received(a, 3, 10)).toBe('connection');
    expect(a.paused).toBe(true);
    expect(b.paused).toBe(false);
    budget.answered(a, 1);
    expect(a.paused).toBe(false);
    expect(budget.stats()).toMatchObject({ requestsInflight: 3, requestBytesInflight: 30, pausesForConnection: 1 });
  });

  it('pauses connections that send past the member-wide bytes, and resumes them in order once under', () => {
    const budget = new RequestBudget<Connection>(100, 1_000);
    const [a, b, c] = [new Connection(), new Connection(), new Connection()];
    expect(budget.received(a, 1, 600)).toBeNull();
    expect(budget.received(b, 1, 500)).toBe('member');
    expect(budget.received(c, 1, 100)).toBe('member');
    expect([a.paused, b.paused, c.paused]).toEqual([false, true, true]);
    // Still over (1,100 - 600 + ... ): answering c's alone does not bring the member under.
    budget.answered(c, 1);
    expect([b.paused, c.paused]).toEqual([true, true]);
    budget.answered(a, 1);
    expect([b.paused, c.paused]).toEqual([false, false]);
    expect(budget.stats()).toMatchObject({ requestBytesInflight: 500, pausesForMember: 2, pausedConnections: 0 });
  });

  it('a connection paused for both reasons resumes only when both are gone', () => {
    const budget = new RequestBudget<Connection>(1, 100);
    const a = new Connection();
    expect(budget.received(a, 1, 200)).toBe('member');
    expect(a.paused).toBe(true);
    const b = new Connection();
    budget.received(b, 1, 1);
    budget.answered(b, 1);
    expect(a.paused).toBe(true);
    budget.answered(a, 1);
    expect(a.paused).toBe(false);
  });

  it('a closed connection gives back everything it had outstanding', () => {
    const budget = new RequestBudget<Connection>(10, 100);
    const a = new Connection();
    const b = new Connection();
    budget.received(a, 1, 80);
    budget.received(a, 2, 80);
    budget.received(b, 1, 10);
    expect(b.paused).toBe(true);
    budget.closed(a);
    expect(b.paused).toBe(false);
    expect(budget.stats()).toMatchObject({ requestsInflight: 1, requestBytesInflight: 10 });
    budget.answered(a, 1);
    expect(budget.stats().requestsInflight).toBe(1);
  });
});
