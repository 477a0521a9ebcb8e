/**
 * An error as ipvsadm reports it: the exact text it prints to stderr (without the final
 * newline) and the exit status it leaves with. Option-parsing mistakes exit 2, popt's own
 * errors and kernel refusals exit 255, so uvsadm can print and exit exactly like ipvsadm.
 */
export class IpvsadmError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'IpvsadmError';
  }
}

/** Exit status of ipvsadm's fail(2, ...) for bad options and arguments. */
export const EXIT_PARSE = 2;
/** Exit status when popt rejects an option, the first option is not a command, or the kernel refuses. */
export const EXIT_FAILURE = 255;

/** The messages ipvsadm prints for the kernel's answers (ipvs_strerror), used by the rules model. */
export const KERNEL_MESSAGES = {
  serviceExists: 'Service already exists',
  noSuchService: 'No such service',
  serviceNotDefined: 'Service not defined',
  destExists: 'Destination already exists',
  noSuchDest: 'No such destination',
  schedulerNotFound: 'Scheduler or persistence engine not found',
  outOfRange: 'Numerical result out of range',
  invalid: 'Invalid operation.  Possibly wrong module version, address not unicast, ...',
  // FULLNAT local addresses (uvs extension; DPVS/Alibaba have no fixed wording)
  laddrExists: 'Local address already exists',
  noSuchLaddr: 'No such local address',
  laddrFamily: 'Local address family differs from the virtual service',
} as const;
