/**
 * The parts of the File System Access API and the Origin Private File System the page uses, typed here
 * because TypeScript's DOM library does not declare them yet (Chromium has them; where they are
 * missing the page falls back to downloads, and the worker says conversion needs OPFS).
 */

/** A file opened for synchronous reads and writes (OPFS, in a worker only). */
export interface SyncAccessHandle {
  read(buffer: ArrayBufferView, options?: { at?: number }): number;
  write(buffer: ArrayBufferView, options?: { at?: number }): number;
  truncate(size: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}

export interface WritableFileStream extends WritableStream<BufferSource | Blob> {
  write(data: BufferSource | Blob): Promise<void>;
  close(): Promise<void>;
  abort(reason?: unknown): Promise<void>;
}

export interface FileHandle {
  readonly kind: 'file';
  readonly name: string;
  getFile(): Promise<File>;
  createWritable(options?: { keepExistingData?: boolean }): Promise<WritableFileStream>;
  createSyncAccessHandle(): Promise<SyncAccessHandle>;
}

export interface DirectoryHandle {
  readonly kind: 'directory';
  readonly name: string;
  getFileHandle(name: string, options?: { create?: boolean }): Promise<FileHandle>;
  getDirectoryHandle(name: string, options?: { create?: boolean }): Promise<DirectoryHandle>;
  removeEntry(name: string, options?: { recursive?: boolean }): Promise<void>;
  keys(): AsyncIterableIterator<string>;
}

/** `navigator.storage.getDirectory()`: the page's private folder (OPFS). */
export function opfsRoot(): Promise<DirectoryHandle> {
  const storage = (globalThis.navigator as unknown as { storage?: { getDirectory?: () => Promise<DirectoryHandle> } } | undefined)?.storage;
  if (typeof storage?.getDirectory !== 'function') return Promise.reject(new Error('this browser has no Origin Private File System (navigator.storage.getDirectory)'));
  return storage.getDirectory();
}

/** The page's pickers (window.showSaveFilePicker, window.showDirectoryPicker), where the browser has them. */
export interface Pickers {
  showSaveFilePicker(options?: { suggestedName?: string; id?: string }): Promise<FileHandle>;
  showDirectoryPicker(options?: { mode?: 'read' | 'readwrite'; id?: string }): Promise<DirectoryHandle>;
}

export function pickers(): Pickers | undefined {
  const w = globalThis as unknown as Partial<Pickers>;
  return typeof w.showSaveFilePicker === 'function' && typeof w.showDirectoryPicker === 'function' ? (w as Pickers) : undefined;
}
