/**
 * RequestBudget bounds what clients can make a member hold: the unanswered requests of one
 * connection (`perConnectionMax`) and the bytes of all unanswered client requests of the member
 * (`bytesMax`). Past either it does not refuse: it stops reading the connection (TCP pushes back on
 * the client, as ZooKeeper throttles reading when globalOutstandingLimit is reached) and reads
 * again once answers bring it back under. A connection past its own limit resumes on its own
 * answers; connections paused for the member-wide budget resume, in the order they were paused,
 * once the member is under it again.
 */
export interface Readable {
  pauseReading(): void;
  resumeReading(): void;
}

interface Account {
  /** outstanding: bytes of each unanswered request, by xid. */
  outstanding: Map<number, number>;
  pausedForConnection: boolean;
  pausedForMember: boolean;
}

/** BudgetStats are the counts the server exports as metrics. */
export interface BudgetStats {
  requestBytesInflight: number;
  requestsInflight: number;
  pausesForConnection: number;
  pausesForMember: number;
  pausedConnections: number;
}

export class RequestBudget<C extends Readable> {
  private readonly accounts = new Map<C, Account>();
  private readonly pausedForMember = new Set<C>();
  private bytes = 0;
  private requests = 0;
  private pausesForConnection = 0;
  private pausesForMember = 0;

  constructor(
    private readonly perConnectionMax: number,
    private readonly bytesMax: number,
  ) {}

  /** received accounts for a request just read from `connection`; returns why it paused that connection, if it did. */
  received(connection: C, xid: number, bytes: number): 'connection' | 'member' | null {
    const account = this.accountOf(connection);
    const previous = account.outstanding.get(xid);
    if (previous !== undefined) {
      // A client reusing an unanswered xid: keep the larger size so the accounts never go negative.
      if (bytes > previous) {
        this.bytes += bytes - previous;
        account.outstanding.set(xid, bytes);
      }
    } else {
      account.outstanding.set(xid, bytes);
      this.bytes += bytes;
      this.requests++;
    }
    let paused: 'connection' | 'member' | null = null;
    if (!account.pausedForConnection && account.outstanding.size >= this.perConnectionMax) {
      account.pausedForConnection = true;
      this.pausesForConnection++;
      connection.pauseReading();
      paused = 'connection';
    }
    if (this.bytes >= this.bytesMax && !account.pausedForMember) {
      account.pausedForMember = true;
      this.pausedForMember.add(connection);
      this.pausesForMember++;
      connection.pauseReading();
      paused = 'member';
    }
    return paused;
  }

  /** answered releases a request once its reply is sent (or it was dropped). */
  answered(connection: C, xid: number): void {
    const account = this.accounts.get(connection);
    const bytes = account?.outstanding.get(xid);
    if (account === undefined || bytes === undefined) return;
    account.outstanding.delete(xid);
    this.bytes -= bytes;
    this.requests--;
    if (account.pausedForConnection && account.outstanding.size < this.perConnectionMax) {
      account.pausedForConnection = false;
      if (!account.pausedForMember) connection.resumeReading();
    }
    this.resumeForMember();
  }

  /** closed forgets a connection and everything it had outstanding. */
  closed(connection: C): void {
    const account = this.accounts.get(connection);
    if (account === undefined) return;
    this.accounts.delete(connection);
    this.pausedForMember.delete(connection);
    for (const bytes of account.outstanding.values()) this.bytes -= bytes;
    this.requests -= account.outstanding.size;
    this.resumeForMember();
  }

  stats(): BudgetStats {
    let paused = 0;
    for (const account of this.accounts.values()) if (account.pausedForConnection || account.pausedForMember) paused++;
    return {
      requestBytesInflight: this.bytes,
      requestsInflight: this.requests,
      pausesForConnection: this.pausesForConnection,
      pausesForMember: this.pausesForMember,
      pausedConnections: paused,
    };
  }

  private resumeForMember(): void {
    if (this.bytes >= this.bytesMax || this.pausedForMember.size === 0) return;
    for (const connection of [...this.pausedForMember]) {
      if (this.bytes >= this.bytesMax) break;
      this.pausedForMember.delete(connection);
      const account = this.accounts.get(connection);
      if (account === undefined) continue;
      account.pausedForMember = false;
      if (!account.pausedForConnection) connection.resumeReading();
    }
  }

  private accountOf(connection: C): Account {
    let account = this.accounts.get(connection);
    if (account === undefined) {
      account = { outstanding: new Map(), pausedForConnection: false, pausedForMember: false };
      this.accounts.set(connection, account);
    }
    return account;
  }
}
