/** backup, restore, verify, compact, rebuild, stats, leftovers. Owner: define. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- placeholder until its owner defines it
export interface Maintenance {}
