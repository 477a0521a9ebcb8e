/**
 * IPVS's TCP connection states, their default timeouts and transition tables
 * (net/netfilter/ipvs/ip_vs_proto_tcp.c, described in ipvs-facts 4.2). Three tables: INPUT
 * (client → server of a NAT entry), OUTPUT (server → client of a NAT entry) and INPUT-ONLY
 * (every packet of a DR/TUN entry, whose replies never cross the director).
 */

export const TCP_NONE = 0;
export const TCP_ESTABLISHED = 1;
export const TCP_SYN_SENT = 2;
export const TCP_SYN_RECV = 3;
export const TCP_FIN_WAIT = 4;
export const TCP_TIME_WAIT = 5;
export const TCP_CLOSE = 6;
export const TCP_CLOSE_WAIT = 7;
export const TCP_LAST_ACK = 8;
export const TCP_LISTEN = 9;
export const TCP_SYNACK = 10;
export const TCP_STATE_COUNT = 11;

export const TCP_STATE_NAMES: readonly string[] = [
  'NONE', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK',
  'LISTEN', 'SYNACK',
];

/** Default timeouts in seconds, indexed by state. */
export const TCP_DEFAULT_TIMEOUTS: readonly number[] = [2, 900, 120, 60, 120, 120, 10, 60, 30, 120, 120];

/** States that count as active connections (Linux >= 4.8: ESTABLISHED and the SYN states). */
export const TCP_STATE_ACTIVE: Uint8Array = Uint8Array.from([0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1]);

/** Events, by priority RST > SYN > FIN > ACK; a segment with none of them is EV_NONE (→ CLOSE). */
export const EV_SYN = 0;
export const EV_FIN = 1;
export const EV_ACK = 2;
export const EV_RST = 3;
export const EV_NONE = 4;

/** Maps the TCP flags byte to an event. */
export function tcpEvent(flags: number): number {
  if (flags & 0x04) return EV_RST;
  if (flags & 0x02) return EV_SYN;
  if (flags & 0x01) return EV_FIN;
  if (flags & 0x10) return EV_ACK;
  return EV_NONE;
}

const S = { NO: 0, ES: 1, SS: 2, SR: 3, FW: 4, TW: 5, CL: 6, CW: 7, LA: 8, LI: 9, SA: 10 } as const;
type Abbrev = keyof typeof S;

/**
 * Builds a flat table [state * 5 + event] from rows written as in the facts file: one row per
 * current state (in state-number order), columns SYN FIN ACK RST. EV_NONE always gives CLOSE.
 */
function table(rows: ReadonlyArray<readonly [Abbrev, Abbrev, Abbrev, Abbrev]>): Uint8Array {
  const t = new Uint8Array(TCP_STATE_COUNT * 5);
  rows.forEach((row, state) => {
    for (let ev = 0; ev < 4; ev++) t[state * 5 + ev] = S[row[ev]];
    t[state * 5 + EV_NONE] = TCP_CLOSE;
  });
  return t;
}

//                   SYN   FIN   ACK   RST
export const TCP_INPUT = table([
  ['SR', 'CL', 'ES', 'CL'], // NONE
  ['ES', 'CW', 'ES', 'CL'], // ESTABLISHED
  ['ES', 'SS', 'SS', 'CL'], // SYN_SENT
  ['SR', 'TW', 'ES', 'SR'], // SYN_RECV
  ['SR', 'TW', 'FW', 'CL'], // FIN_WAIT
  ['SR', 'TW', 'TW', 'CL'], // TIME_WAIT
  ['SR', 'CL', 'CL', 'CL'], // CLOSE
  ['SR', 'CW', 'CW', 'CL'], // CLOSE_WAIT
  ['SR', 'LA', 'CL', 'LA'], // LAST_ACK
  ['SR', 'LI', 'LI', 'LI'], // LISTEN
  ['SR', 'TW', 'ES', 'SR'], // SYNACK
]);

export const TCP_OUTPUT = table([
  ['SS', 'TW', 'ES', 'CL'], // NONE
  ['ES', 'FW', 'ES', 'CL'], // ESTABLISHED
  ['SS', 'SS', 'SS', 'SS'], // SYN_SENT
  ['SR', 'TW', 'ES', 'CL'], // SYN_RECV
  ['SS', 'FW', 'FW', 'CL'], // FIN_WAIT
  ['SS', 'TW', 'TW', 'TW'], // TIME_WAIT
  ['SS', 'CL', 'CL', 'CL'], // CLOSE
  ['SS', 'TW', 'CW', 'CL'], // CLOSE_WAIT
  ['SS', 'LA', 'LA', 'CL'], // LAST_ACK
  ['LI', 'LI', 'ES', 'CL'], // LISTEN
  ['SR', 'TW', 'ES', 'CL'], // SYNACK
]);

export const TCP_INPUT_ONLY = table([
  ['SR', 'CL', 'ES', 'CL'], // NONE
  ['ES', 'FW', 'ES', 'CL'], // ESTABLISHED
  ['ES', 'SS', 'SS', 'CL'], // SYN_SENT
  ['SR', 'TW', 'ES', 'SR'], // SYN_RECV
  ['SR', 'FW', 'FW', 'CL'], // FIN_WAIT
  ['SR', 'TW', 'TW', 'CL'], // TIME_WAIT
  ['SR', 'CL', 'CL', 'CL'], // CLOSE
  ['SR', 'CW', 'CW', 'CL'], // CLOSE_WAIT
  ['SR', 'LA', 'CL', 'LA'], // LAST_ACK
  ['SR', 'LI', 'LI', 'LI'], // LISTEN
  ['SR', 'TW', 'ES', 'CL'], // SYNACK
]);
