/**
 * What only some backends can do, each optional: operations test for it and otherwise take the
 * generic path through `Backend.write`. The embedded backend's prepared import (chunks encoded on
 * worker threads and appended by its log writer thread) is the first.
 */
export interface BackendCapabilities {
  // filled by the owners of each capability (see embedded/embedded-capabilities.ts)
}
