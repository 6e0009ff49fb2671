import { constants, type Stats } from 'node:fs';
import { open, readlink, realpath, stat, type FileHandle } from 'node:fs/promises';
import { ToolInputError } from './registry';
import type { Workspace } from './workspace';

// Reading a workspace file without a race. The path is checked first (Workspace.resolve, for
// clear messages), but a link can be swapped in between that check and open(). So the file is
// opened without following a final link (O_NOFOLLOW), and then the opened file itself is checked:
// a regular file, with a single name (a hard link inside the workspace may be another name of a
// file outside, which no path check can see), whose real path, read back from the descriptor, is
// inside the workspace. Nothing is read before those checks pass.

// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, holding one of libuv's
// four file-system threads (and so every other file operation of the process) until one comes.
const openFlags = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

export interface OpenedFile {
  handle: FileHandle;
  /** fstat of the opened file (not of the path). */
  info: Stats;
  /** Its real path, inside the workspace. */
  real: string;
}

/** Opens `path` (as the model wrote it) for reading, or throws a ToolInputError the model reads. */
export async function openWorkspaceFile(workspace: Workspace, path: string): Promise<OpenedFile> {
  return openResolvedFile(workspace, await workspace.resolve(path), path);
}

/** Opens `real`, a path resolved earlier (which may have changed since), and checks what was opened. */
export async function openResolvedFile(workspace: Workspace, real: string, shown: string): Promise<OpenedFile> {
  let handle: FileHandle;
  try {
    handle = await open(real, openFlags);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new ToolInputError(`refused: "${shown}" was replaced by a link while it was opened`);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ToolInputError(`no such file or directory: ${shown}`);
    if (code === 'EACCES' || code === 'EPERM') throw new ToolInputError(`permission denied: ${shown}`);
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new ToolInputError(`not a file: ${shown}`);
    if (info.nlink > 1) throw new ToolInputError(`refused: "${shown}" has ${info.nlink} hard links, and another of its names may be outside the workspace`);
    const opened = await openedPath(handle, real, info, shown);
    if (!(await workspace.isInside(opened))) throw new ToolInputError(`refused: "${shown}" leads outside the workspace through a link`);
    return { handle, info, real: opened };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * Where the opened file really is. Linux says so through /proc; elsewhere the path is resolved
 * again, and must still name the very file that was opened (same device and inode).
 */
async function openedPath(handle: FileHandle, real: string, info: Stats, shown: string): Promise<string> {
  try {
    return await readlink(`/proc/self/fd/${handle.fd}`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const again = await realpath(real).catch(() => '');
  const now = again ? await stat(again).catch(() => undefined) : undefined;
  if (!now || now.dev !== info.dev || now.ino !== info.ino) throw new ToolInputError(`refused: "${shown}" changed while it was opened`);
  return again;
}

/** Up to `limit` bytes from `position`: fewer only at the end of the file, however it grows or shrinks meanwhile. */
export async function readUpTo(handle: FileHandle, limit: number, position = 0): Promise<Buffer> {
  const buffer = Buffer.alloc(Math.max(0, limit));
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}
