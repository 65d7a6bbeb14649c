// How the live view's page reads the machines' events: the one-line
// description of an event, which events a node's log keeps, and a state value
// split into its top state and sub-state. Pure functions; app.js uses them.
'use strict';

window.liveViewDescribe = (() => {
  /**
   * The log keeps what a reader follows: peers' messages, timeouts and
   * commands. Left out: the node's relays of what its election emits and
   * forwards (their effect is logged from the snapshots), finished provider
   * calls (the transitions they cause are logged), and the heartbeats that
   * tick many times per round.
   */
  function worthLogging(who, event) {
    const type = event && typeof event.type === 'string' ? event.type : '';
    if (/^xstate\.(done|error)\.actor\./.test(type)) return false;
    if (who === 'node') return !type.startsWith('election.') && type !== 'election_message';
    if (who === 'election') {
      const message = event.message && typeof event.message.type === 'string' ? event.message.type : '';
      if (message === 'heartbeat' || message === 'heartbeat_response') return false;
      return !/^xstate\.after\.(heartbeatInterval|checkQuorumInterval)\./.test(type);
    }
    return true;
  }

  function splitValue(value) {
    if (typeof value === 'string') return { top: value, sub: null };
    if (value && typeof value === 'object') {
      const top = Object.keys(value)[0] || null;
      const inner = top === null ? null : value[top];
      return { top, sub: typeof inner === 'string' ? inner : inner && typeof inner === 'object' ? Object.keys(inner)[0] || null : null };
    }
    return { top: null, sub: null };
  }

  const nameOf = (value) => (typeof value === 'string' ? value : value && typeof value === 'object' ? value.name || value.id || null : null);

  /** An event as one short line: `after votingTimeout`, `done voting.tallying`, `vote_received n2→n1`. */
  function describe(event) {
    if (!event || typeof event.type !== 'string') return '?';
    const type = event.type;
    let match = /^xstate\.after\.([^.]+)\./.exec(type);
    if (match) return `after ${match[1]}`;
    match = /^xstate\.(done|error)\.actor\.(?:\d+\.)?(?:round\.|election\.|node\.)?(.*)$/.exec(type);
    if (match) return `${match[1]} ${match[2]}`;
    if (type === 'vote_received') return `${type} ${nameOf(event.voter) || '?'}→${nameOf(event.proposer) || '?'}`;
    const from = nameOf(event.peer) || nameOf(event.from);
    const kind = event.message && typeof event.message.type === 'string' ? ` ${event.message.type}` : '';
    return `${type}${kind}${from ? ` from ${from}` : ''}`;
  }

  return { describe, splitValue, worthLogging };
})();
