/**
 * IPVS's SCTP connection states and transition tables (ip_vs_proto_sctp.c, ipvs-facts 4.3).
 * Events come from the first chunk of the packet.
 */

export const SCTP_STATE_NAMES: readonly string[] = [
  'NONE', 'INIT1', 'INIT', 'COOKIE_SENT', 'COOKIE_REPLIED', 'COOKIE_WAIT', 'COOKIE', 'COOKIE_ECHOED',
  'ESTABLISHED', 'SHUTDOWN_SENT', 'SHUTDOWN_RECEIVED', 'SHUTDOWN_ACK_SENT', 'REJECTED', 'CLOSED',
];
export const SCTP_STATE_COUNT = 14;
export const SCTP_ESTABLISHED = 8;
export const SCTP_CLOSED = 13;

/** Default timeouts in seconds, indexed by state. */
export const SCTP_DEFAULT_TIMEOUTS: readonly number[] = [2, 4, 61, 61, 61, 61, 61, 61, 900, 61, 61, 61, 4, 61];

export const SCTP_EVENT_COUNT = 10;
const EV_DATA = 0;
const EV_INIT = 1;
const EV_INIT_ACK = 2;
const EV_COOKIE_ECHO = 3;
const EV_COOKIE_ACK = 4;
const EV_SHUTDOWN = 5;
const EV_SHUTDOWN_ACK = 6;
const EV_SHUTDOWN_COMPLETE = 7;
const EV_ERROR = 8;
const EV_ABORT = 9;

/** SCTP chunk type → event. Unknown chunks, DATA, SACK, HEARTBEAT... count as DATA. */
export function sctpEvent(chunkType: number): number {
  switch (chunkType) {
    case 1: return EV_INIT;
    case 2: return EV_INIT_ACK;
    case 6: return EV_ABORT;
    case 7: return EV_SHUTDOWN;
    case 8: return EV_SHUTDOWN_ACK;
    case 9: return EV_ERROR;
    case 10: return EV_COOKIE_ECHO;
    case 11: return EV_COOKIE_ACK;
    case 14: return EV_SHUTDOWN_COMPLETE;
    default: return EV_DATA;
  }
}

const ABBREV = ['NO', 'I1', 'IN', 'CS', 'CR', 'CW', 'CO', 'CE', 'ES', 'SS', 'SR', 'SA', 'RJ', 'CL'];

/** Table rows are events (facts order), columns current states; flattened to [state * 10 + event]. */
function table(rows: readonly string[]): Uint8Array {
  const t = new Uint8Array(SCTP_STATE_COUNT * SCTP_EVENT_COUNT);
  rows.forEach((row, ev) => {
    row.trim().split(/\s+/).forEach((name, state) => {
      const next = ABBREV.indexOf(name);
      if (next < 0) throw new Error(`bad SCTP table entry ${name}`);
      t[state * SCTP_EVENT_COUNT + ev] = next;
    });
  });
  return t;
}

//                    NO I1 IN CS CR CW CO CE ES SS SR SA RJ CL
export const SCTP_INPUT = table([
  /* DATA */          'ES I1 IN CS CR CW CO CE ES SS SR SA RJ CL',
  /* INIT */          'I1 IN IN CS CR CW CO CE ES SS SR SA IN IN',
  /* INIT_ACK */      'CW CW CW CS CR CO CO CE ES SS SR SA RJ CL',
  /* COOKIE_ECHO */   'CR IN IN CR CR CW CO CE ES SS SR SA RJ CL',
  /* COOKIE_ACK */    'ES I1 IN CS CR CW CO ES ES SS SR SA RJ CL',
  /* SHUTDOWN */      'SR I1 IN CS CR CW CO CE SR SS SR SA RJ CL',
  /* SHUTDOWN_ACK */  'CL IN IN CS CR CW CO CE ES CL SR CL RJ CL',
  /* SHUTDOWN_COMP */ 'CL CL CL CS CR CW CO CE ES SS SR CL RJ CL',
  /* ERROR */         'CL I1 IN CS CR CW CO CL ES SS SR SA RJ CL',
  /* ABORT */         'CL CL CL CL CL RJ CL CL CL CL CL CL CL CL',
]);

export const SCTP_OUTPUT = table([
  /* DATA */          'ES I1 IN CS CR CW CO CE ES SS SR SA RJ CL',
  /* INIT */          'CW CW CW CW CW CW CW CW ES CW CW CW CW CW',
  /* INIT_ACK */      'CS CS CS CS CR CW CO CE ES SS SR SA RJ CL',
  /* COOKIE_ECHO */   'CE CE CE CE CE CE CE CE ES SS SR SA RJ CL',
  /* COOKIE_ACK */    'ES ES ES ES ES ES ES ES ES SS SR SA RJ CL',
  /* SHUTDOWN */      'SS SS SS SS SS SS SS SS SS SS SR SA RJ CL',
  /* SHUTDOWN_ACK */  'SA SA SA SA SA CW CO CE ES SA SA SA RJ CL',
  /* SHUTDOWN_COMP */ 'CL I1 IN CS CR CW CO CE ES SS SR SA RJ CL',
  /* ERROR */         'CL CL CL CL CL CW CO CE ES SS SR SA RJ CL',
  /* ABORT */         'CL RJ CL CL CL CL CL CL CL CL CL CL CL CL',
]);

export const SCTP_INPUT_ONLY = table([
  /* DATA */          'ES I1 IN CS CR ES CO CE ES SS SR SA RJ CL',
  /* INIT */          'I1 IN IN IN IN IN CO CE ES SS SR SA IN IN',
  /* INIT_ACK */      'CE CE CE CE CE CE CO CE ES SS SR SA RJ CL',
  /* COOKIE_ECHO */   'ES ES ES ES ES ES CO CE ES SS SR SA RJ CL',
  /* COOKIE_ACK */    'ES I1 IN ES ES CW ES ES ES SS SR SA RJ CL',
  /* SHUTDOWN */      'SR I1 IN CS CR CW CO CE SR SS SR SA RJ CL',
  /* SHUTDOWN_ACK */  'CL IN IN CS CR CW CO CE CL CL SR CL RJ CL',
  /* SHUTDOWN_COMP */ 'CL CL CL CL CL CW CO CE ES SS CL CL RJ CL',
  /* ERROR */         'CL I1 IN CS CR CW CO CE ES SS SR SA RJ CL',
  /* ABORT */         'CL CL CL CL CL RJ CL CL CL CL CL CL CL CL',
]);
