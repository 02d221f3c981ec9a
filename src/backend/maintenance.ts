/** backup, restore, verify, compact, rebuild, stats, leftovers. Owner: define. */
export interface Maintenance {}
