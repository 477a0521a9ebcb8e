/** A lab command that cannot do what was asked; the message is for the user, as is. */
export class LabError extends Error {}
