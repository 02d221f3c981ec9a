import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CONTEXT_FILE_SIDECARS, type ContextFileName, type ContextFiles, type LockedContextFiles } from '../context-files.js';
import type { EmbeddedStore } from './embedded-store.js';
import { writeFileAtomic } from './fs-durable.js';


export class EmbeddedContextFiles implements ContextFiles {
  constructor(private readonly store: EmbeddedStore) {}

  private path(context: string, name: ContextFileName): string {
    return join(this.store.layout.contextDir(context), name);
  }

  private readNow(context: string, name: ContextFileName): Buffer | undefined {
    try {
      return readFileSync(this.path(context, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  private writeNow(context: string, name: ContextFileName, data: string | Uint8Array): void {
    mkdirSync(this.store.layout.contextDir(context), { recursive: true });
    writeFileAtomic(this.path(context, name), data);
  }

  private removeNow(context: string, name: ContextFileName): void {
    const p = this.path(context, name);
    for (const f of [p, ...CONTEXT_FILE_SIDECARS[name].map((s) => p + s)]) rmSync(f, { force: true });
  }

  async read(context: string, name: ContextFileName): Promise<Buffer | undefined> {
    return this.readNow(context, name);
  }

  async exists(context: string, name: ContextFileName): Promise<boolean> {
    return existsSync(this.path(context, name));
  }

  async write(context: string, name: ContextFileName, data: string | Uint8Array): Promise<void> {
    this.store.requireContext(context);
    this.writeNow(context, name, data);
  }

  async readLocal<T>(context: string, name: ContextFileName, fn: (path: string) => T): Promise<T | undefined> {
    const p = this.path(context, name);
    return existsSync(p) ? fn(p) : undefined;
  }

  async update<T>(context: string, _names: readonly ContextFileName[], fn: (files: LockedContextFiles) => T): Promise<T> {
    this.store.requireContext(context);
    const files: LockedContextFiles = {
      read: (name) => this.readNow(context, name),
      write: (name, data) => this.writeNow(context, name, data),
      writeLocal: (name, write) => {
        mkdirSync(this.store.layout.contextDir(context), { recursive: true });
        write(this.path(context, name));
      },
      remove: (name) => this.removeNow(context, name),
    };
    // BEGIN IMMEDIATE: the store's write lock, shared with every other process on the store.
    return this.store.transaction(() => fn(files));
  }

  location(context: string, name: ContextFileName): string {
    return this.path(context, name);
  }
}
