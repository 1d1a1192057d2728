import { createHash } from 'node:crypto';
import { TransportError } from '@zabkit/transport-tcp';
import { afterEach, describe, expect, it } from 'vitest';
import { addressOf, cleanup, connect, memberIds, roles, startHarness } from './acceptance.js';
import { RawClient } from './raw-client.js';

// Issue 14, item 2: a session cannot be taken over. Before, the password was derived from the
// session id (sha256 of `zabkit-session:<id>`), and the id is every reader's `ephemeralOwner`: an
// outsider resumed another client's session, planted ephemerals in it and closed it. Now each
// session has 16 random bytes, replicated with it; a wrong password and a dead session get the same
// SESSION_EXPIRED refusal on every member, and the real session is untouched.

afterEach(cleanup);

/** derivedPassword is how passwords were made before issue 14, the takeover that used to work. */
function derivedPassword(sessionId: number): Uint8Array {
  const digest = createHash('sha256').update(`zabkit-session:${sessionId}`).digest();
  return new Uint8Array(digest.subarray(0, 16));
}

function flipped(bytes: Uint8Array, index: number): Uint8Array {
  const copy = bytes.slice();
  copy[index] = (copy[index] as number) ^ 0x80;
  return copy;
}

/** refusal is how a resume with these credentials ends: the refusal's reason, or 'accepted'. */
async function refusal(address: string, sessionId: number, password: Uint8Array): Promise<string> {
  try {
    const client = await RawClient.connect(address, { sessionId, password }, 10_000, { connectTimeoutMs: 5_000 });
    client.close();
    return 'accepted';
  } catch (error) {
    if (error instanceof TransportError && error.code === 'REFUSED') return String(error.reason);
    throw error;
  }
}

describe('issue 14: sessions cannot be guessed or taken', () => {
  it('a resume with a wrong password is refused on every member and the owner keeps its session', async () => {
    const harness = await startHarness();
    const { followers } = await roles(harness);
    const home = followers[0] as number;
    const owner = await connect(harness, home);
    owner.startPinging(1_000);
    await owner.create('/owned', 'mine', 1);
    const stat = await owner.getData('/owned');
    const sessionId = owner.sessionId;
    expect(stat.result?.op === 'getData' ? stat.result.stat.ephemeralOwner : undefined).toBe(sessionId);

    // The password is random: not the old derived one, and another session's is different.
    expect(owner.password).toHaveLength(16);
    expect(Buffer.from(owner.password).equals(Buffer.from(derivedPassword(sessionId)))).toBe(false);
    const other = await connect(harness, home);
    expect(Buffer.from(other.password).equals(Buffer.from(owner.password))).toBe(false);

    const guesses: [string, Uint8Array][] = [
      ['all zero', new Uint8Array(16)],
      ['derived from the id (the old scheme)', derivedPassword(sessionId)],
      ['the real one with its first bit flipped', flipped(owner.password, 0)],
      ['the real one with its last bit flipped', flipped(owner.password, 15)],
      ["another session's", other.password],
    ];
    const answers: string[] = [];
    for (const id of memberIds(harness)) {
      for (const [what, password] of guesses) {
        answers.push(`member ${id}, ${what}: ${await refusal(addressOf(harness, id), sessionId, password)}`);
      }
      // A session that does not exist gets the very same answer: probing ids tells nothing.
      answers.push(
        `member ${id}, no such session: ${await refusal(addressOf(harness, id), sessionId + 7, owner.password)}`,
      );
    }
    console.log(answers.join('\n'));
    expect(answers.filter((answer) => !answer.endsWith(': SESSION_EXPIRED'))).toEqual([]);
    expect(answers).toHaveLength(memberIds(harness).length * (guesses.length + 1));

    // The owner's session is untouched: still connected, still writing, its ephemeral still its own.
    expect(owner.closed).toBe(false);
    await owner.create('/after', 'still mine');
    for (const id of memberIds(harness)) {
      const reader = await connect(harness, id);
      await reader.sync('/');
      const reply = await reader.getData('/owned');
      expect(reply.result?.op === 'getData' ? reply.result.stat.ephemeralOwner : undefined).toBe(sessionId);
      reader.close();
    }

    // With its own password the session resumes on another member (it moves there), as a client does.
    const elsewhere = memberIds(harness).find((id) => id !== home) as number;
    const moved = await RawClient.connect(addressOf(harness, elsewhere), {
      sessionId,
      password: owner.password,
    });
    expect(moved.sessionId).toBe(sessionId);
    expect(Buffer.from(moved.password).equals(Buffer.from(owner.password))).toBe(true);
    expect(await moved.get('/owned')).toBe('mine');
    moved.close();
  }, 90_000);
});
