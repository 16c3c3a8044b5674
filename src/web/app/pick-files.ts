import type { PickedFile } from '../protocol.js';

/** Most files taken from one drop: a folder of a million files is a mistake, not a model. */
export const MAX_DROPPED_FILES = 20_000;

/** The files of an `<input type=file>` (with `webkitdirectory`, each keeps its path in the folder). */
export function pickedFromInput(list: FileList): PickedFile[] {
  return Array.from(list, (file) => ({ file, path: file.webkitRelativePath || file.name }));
}

/** The files of a drop, folders walked (entries API), each with its path inside what was dropped. */
export async function pickedFromDrop(data: DataTransfer): Promise<PickedFile[]> {
  const entries = Array.from(data.items)
    .map((item) => (item.kind === 'file' ? item.webkitGetAsEntry() : null))
    .filter((e): e is FileSystemEntry => e !== null);
  if (entries.length === 0) return Array.from(data.files, (file) => ({ file, path: file.name }));
  const out: PickedFile[] = [];
  for (const entry of entries) await walk(entry, out);
  return out;
}

async function walk(entry: FileSystemEntry, out: PickedFile[]): Promise<void> {
  if (out.length >= MAX_DROPPED_FILES) throw new Error(`more than ${MAX_DROPPED_FILES} files were dropped: drop the model's own folder`);
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.push({ file, path: entry.fullPath.replace(/^\//, '') });
    return;
  }
  if (!entry.isDirectory) return;
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  // readEntries answers in batches until it answers none.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    for (const e of batch) {
      if (e.isDirectory && (e.name === '.git' || e.name === 'node_modules')) continue;
      await walk(e, out);
    }
  }
}
