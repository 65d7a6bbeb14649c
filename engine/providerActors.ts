import type { CommitPacer } from './pacer';
import { storedValueOf } from './storedLog';
import type { ProviderCallInputs } from '../machines/round.machine';
import type { ProviderCallOutputs, RoundPorts } from '../machines/roundPorts';
import type { RoundContext, RoundSafetyRecord, RoundSafetyState, RoundThresholds, SafetyValueRecord } from '../machines/round.types';
import { votableProposals } from '../guards/roundChange';
import type { EngineSigning } from './signing/engineSigning';
import type { ProposalPool } from './proposals/pool';
import type { LinearMessaging } from './linearMessaging';
import { NIL_DIGEST, valueDigestOf } from './signing/statement';
import type { TraceLogger } from '../providers/trace';
import type { Identity, Unique } from '../providers/unique';
import type { ConsensusEngineConfig } from './config';
import { ProviderContractError } from './errors';
import { describeIssues, rankedSchema, safetyRecordSchema, uniqueSchema } from './schemas';
import { describeError, readOwn } from './door';

function checkUnique(call: string, value: unknown, label: string): void {
  const parsed = rankedSchema(label).safeParse(value);
  if (!parsed.success) throw new ProviderContractError(call, describeIssues(parsed.error).join('; '));
}

/**
 * Copies of the recorded values for a provider call. One value whose clone()
 * fails is left out (and logged) rather than failing the whole call, which
 * would stop this node from ever voting at that rank. Every value here is the
 * engine's own (its own, or rebuilt through the app's codec), so `clone()` is
 * the app's code on the app's object.
 */
function toMap<T extends Unique>(records: Readonly<Record<Identity, Unique>>, logger: TraceLogger): Map<Identity, T> {
  const copies = new Map<Identity, T>();
  for (const [id, value] of Object.entries(records)) {
    try {
      copies.set(id, value.clone() as T);
    } catch (error) {
      logger.error(`left out ${id}'s message: its clone() threw`, error);
    }
  }
  return copies;
}

/** How provider calls read the running round: its context now, once the actor exists. */
export interface RoundLink {
  context: () => RoundContext | null;
  /** Told of each commit by the facade; paces the next round's collect step (see `CommitPacer`). */
  pacer?: CommitPacer;
}

/**
 * The app's providers as the round machine's ports. Each provider call runs in
 * an async function, so a provider that throws synchronously becomes a
 * rejection like any other and never reaches the actor; what it resolves with
 * is checked against its contract.
 */
export function providerPorts<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
>(
  config: ConsensusEngineConfig<StateT, VoteT, PeerIDT, CollectedT>,
  logger: TraceLogger,
  thresholdsFor: (active: StateT) => RoundThresholds,
  signing: EngineSigning | null = null,
  link: RoundLink = { context: () => null },
  proposals: ProposalPool<StateT, unknown> | null = null,
  linear: LinearMessaging<StateT> | null = null,
): RoundPorts {
  const { providers } = config;
  const { voting, relay } = providers;
  /** The lock whose proof was last handed to the relay: once per lock. */
  let provenLock = '';

  /** The signature over this node's statement, as a position field; none without keys. */
  const signed = (kind: 'vote' | 'nil_vote' | 'confirmation' | 'nil_confirmation', rank: number, attempt: number, id: string | null) =>
    signing === null ? {} : { signature: signing.signOwn(kind, rank, attempt, id === null ? NIL_DIGEST : valueDigestOf(id)) };

  /** After this node confirmed `id`: the proof behind its lock goes to the relay, once. */
  const relayLockProof = (rank: number, id: string) => {
    const lock = link.context()?.lock;
    if (signing === null || relay === undefined || lock == null || lock.contentId !== id) return;
    const key = `${rank}|${lock.attempt}|${id}`;
    if (key === provenLock) return;
    const proof = signing.lockProof(rank, lock.attempt, id);
    if (proof === null) return;
    provenLock = key;
    Promise.resolve()
      .then(() => relay.sendLockProof(proof))
      .catch((error: unknown) => logger.error('relay.sendLockProof failed', error));
  };
  const codec = config.codec.state;

  const plain = (value: Unique): unknown => storedValueOf(value as StateT, codec);
  const keep = (kept: SafetyValueRecord<Unique> | null | undefined): SafetyValueRecord<unknown> | null => {
    if (kept === null || kept === undefined) return null;
    const { value, ...ids } = kept;
    return value === undefined ? ids : { ...ids, value: plain(value) };
  };
  const stored = (record: RoundSafetyState): RoundSafetyRecord => ({
    rank: record.rank,
    votedAttempt: record.votedAttempt,
    confirmedAttempt: record.confirmedAttempt,
    lock: keep(record.lock),
    valid: keep(record.valid),
    proposal: record.proposal == null ? null : { ...record.proposal, value: plain(record.proposal.value) },
  });

  /** A stored value, rebuilt by the codec; it must be the value its identity names, or the record is corrupt. */
  const revive = (what: string, contentId: string, data: unknown): Unique => {
    let value: StateT;
    try {
      value = codec.decode(data);
    } catch (error) {
      throw new ProviderContractError('loadRoundSafety', `${what}: ${describeError(error)}`);
    }
    const own = readOwn(what, value);
    if (!own.ok || own.value.id !== contentId) {
      throw new ProviderContractError('loadRoundSafety', `${what} is not the value ${contentId} it is kept as`);
    }
    return value;
  };
  const reviveKept = (what: string, kept: SafetyValueRecord<unknown> | null | undefined): SafetyValueRecord<Unique> | null => {
    if (kept === null || kept === undefined) return null;
    const { value, ...ids } = kept;
    return value === undefined ? ids : { ...ids, value: revive(what, kept.contentId, value) };
  };
  const revived = (record: RoundSafetyRecord): RoundSafetyState => ({
    rank: record.rank,
    votedAttempt: record.votedAttempt,
    confirmedAttempt: record.confirmedAttempt,
    lock: reviveKept('lock', record.lock),
    valid: reviveKept('valid value', record.valid),
    proposal:
      record.proposal == null
        ? null
        : { ...record.proposal, value: revive('proposal', record.proposal.contentId, record.proposal.value) },
  });
  type In<K extends keyof ProviderCallInputs> = ProviderCallInputs[K];
  const call = <K extends keyof ProviderCallInputs>(
    _name: K,
    run: (input: In<K>, signal: AbortSignal) => Promise<ProviderCallOutputs[K]>,
  ) => run;

  return {
    synchronize: call('synchronize', async ({ existing }, signal) => {
      const synced = await providers.sync.synchronize(existing.clone() as StateT, signal);
      checkUnique('synchronize', synced, 'synchronized state');
      return synced;
    }),
    getNextLeaders: call('getNextLeaders', async ({ prior }, signal) => {
      const leaders = await providers.leader.getNextLeaders(prior.clone() as StateT, signal);
      if (!Array.isArray(leaders) || leaders.length === 0) {
        throw new ProviderContractError('getNextLeaders', 'must resolve to a non-empty array of peer ids');
      }
      leaders.forEach((leader, i) => {
        const parsed = uniqueSchema(`leader ${i}`).safeParse(leader);
        if (!parsed.success) throw new ProviderContractError('getNextLeaders', describeIssues(parsed.error).join('; '));
      });
      return leaders;
    }),
    collect: call('collect', async (_, signal) => {
      await link.pacer?.wait(signal);
      const round = link.context();
      const batch = proposals === null || round === null ? [] : proposals.batchFor(round.activeRank + 1, round.activeState as StateT);
      const collected = await providers.liveness.collect(signal, batch as never[]);
      checkUnique('collect', collected, 'collected');
      return collected;
    }),
    sendLiveness: call('sendLiveness', ({ prior, collected }, signal) =>
      providers.liveness.sendLiveness(prior.clone() as StateT, collected.clone() as CollectedT, signal),
    ),
    proveNextState: call('proveNextState', async ({ prior, collected }, signal) => {
      const proposal = await providers.leader.proveNextState(prior.clone() as StateT, collected.clone() as CollectedT, signal);
      checkUnique('proveNextState', proposal, 'proposal');
      return proposal;
    }),
    sendProposal: call('sendProposal', ({ proposal, rank, attempt, validAttempt }, signal) =>
      providers.voting.sendProposal(proposal.clone() as StateT, signal, { rank, attempt, validAttempt }),
    ),
    decideAndSendVote: call('decideAndSendVote', async ({ proposals, rank, attempt }, signal) => {
      const offered = toMap<StateT>(proposals, logger);
      const split = voting.decideVote !== undefined && voting.sendVote !== undefined;
      const name = split ? 'decideVote' : 'decideAndSendVote';
      const decide = split ? voting.decideVote : voting.decideAndSendVote;
      const decision = await decide!.call(voting, offered, signal, { rank, attempt });
      if (typeof decision !== 'object' || decision === null) {
        throw new ProviderContractError(name, 'must resolve to { proposer, vote }');
      }
      checkUnique(name, decision.vote, 'vote');
      let proposal: string | null = null;
      if (decision.proposer !== null) {
        const proposer = uniqueSchema('proposer').safeParse(decision.proposer);
        if (!proposer.success) {
          throw new ProviderContractError(name, describeIssues(proposer.error).join('; '));
        }
        if (!split) return decision;
        // Sent only if the books and the lock allow it now; otherwise the machine reports the choice.
        const context = link.context();
        const chosen = context === null ? undefined : votableProposals(context)[proposer.data.id];
        if (chosen === undefined) return decision;
        proposal = chosen.contentId;
      } else if (!split) return decision;
      const position = {
        rank,
        attempt,
        proposal,
        ...signed(proposal === null ? 'nil_vote' : 'vote', rank, attempt, proposal),
        ...linear?.audience(rank, attempt, proposal),
      };
      // This node's own vote may be the one that completes the quorum it aggregates.
      if (proposal !== null) linear?.signed('vote', rank, attempt, proposal);
      await voting.sendVote!.call(voting, decision, signal, position);
      return decision;
    }),
    finalizeVotes: call('finalizeVotes', async ({ proposals, votes }, signal) => {
      const result = await providers.voting.finalizeVotes(toMap<StateT>(proposals, logger), toMap<VoteT>(votes, logger), signal);
      if (typeof result !== 'object' || result === null) {
        throw new ProviderContractError('finalizeVotes', 'must resolve to { state, proposer }');
      }
      checkUnique('finalizeVotes', result.state, 'state');
      const proposer = uniqueSchema('proposer').safeParse(result.proposer);
      if (!proposer.success) {
        throw new ProviderContractError('finalizeVotes', describeIssues(proposer.error).join('; '));
      }
      return result;
    }),
    sendConfirmation: call('sendConfirmation', async ({ finalized, rank, attempt }, signal) => {
      if (finalized !== null) {
        const id = finalized.identity();
        const position = { rank, attempt, ...signed('confirmation', rank, attempt, id), ...linear?.audience(rank, attempt, id) };
        linear?.signed('confirmation', rank, attempt, id);
        await voting.sendConfirmation(finalized.clone() as StateT, signal, position);
        relayLockProof(rank, id);
      } else {
        await voting.sendNilConfirmation?.({ rank, attempt, ...signed('nil_confirmation', rank, attempt, null) }, signal);
      }
    }),
    loadSafety: call('loadSafety', async () => {
      if (config.storage === undefined) return null;
      const record = await config.storage.loadRoundSafety();
      if (record === null) return null;
      const parsed = safetyRecordSchema.safeParse(record);
      if (!parsed.success) {
        throw new ProviderContractError('loadRoundSafety', describeIssues(parsed.error).join('; '));
      }
      return revived(parsed.data as RoundSafetyRecord);
    }),
    saveSafety: call('saveSafety', async ({ record }) => {
      if (config.storage === undefined) return;
      await config.storage.saveRoundSafety(stored(record));
    }),
    cleanup: call('cleanup', async (_, signal) => {
      await config.cleanup?.(signal);
    }),
    thresholdsFor: (active) => {
      try {
        return thresholdsFor(active as StateT);
      } catch (error) {
        logger.error('threshold resolution failed; keeping the previous thresholds', error);
        return undefined;
      }
    },
  };
}
