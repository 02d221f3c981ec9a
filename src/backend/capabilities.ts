/**
 * What only some backends can do, each optional: operations test for it and otherwise take the
 * generic path through `Backend.write`. The embedded backend's prepared import (chunks encoded on
 * worker threads and appended by its log writer thread) is the first.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- placeholder until its owner defines it
export interface BackendCapabilities {
  // filled by the owners of each capability (see embedded/embedded-capabilities.ts)
}
