import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { ToolInputError } from './registry';

// Paths given to the workspace tools are relative to one directory. A path that leaves it, by
// `..`, an absolute path or a symbolic link pointing outside, is refused: the check is made on
// the real path, after links are followed. This check on the path gives the model clear messages;
// what keeps reads inside is the second check, on the file once opened (safe-open.ts), since the
// path can change between the two.

export class Workspace {
  private rootReal?: Promise<string>;

  constructor(readonly root: string) {}

  /** The workspace directory's real path, links resolved. */
  realRoot(): Promise<string> {
    this.rootReal ??= realpath(this.root).catch(() => {
      throw new ToolInputError(`the workspace directory ${this.root} does not exist`);
    });
    return this.rootReal;
  }

  /** The real absolute path of `path` inside the workspace, or a ToolInputError. */
  async resolve(path: string): Promise<string> {
    if (path.includes('\0')) throw new ToolInputError('refused: path contains a NUL byte');
    if (isAbsolute(path)) throw new ToolInputError(`refused: "${path}" is absolute; paths are relative to the workspace`);
    const root = await this.realRoot();
    const lexical = resolve(root, path);
    if (!this.contains(root, lexical)) throw new ToolInputError(`refused: "${path}" leaves the workspace`);
    let real: string;
    try {
      real = await realpath(lexical);
    } catch {
      throw new ToolInputError(`no such file or directory: ${path}`);
    }
    if (!this.contains(root, real)) throw new ToolInputError(`refused: "${path}" leads outside the workspace through a link`);
    return real;
  }

  /** The path of `absolute` as the model sees it. */
  async display(absolute: string): Promise<string> {
    return relative(await this.realRoot(), absolute).split(sep).join('/') || '.';
  }

  async isInside(absolute: string): Promise<boolean> {
    return this.contains(await this.realRoot(), absolute);
  }

  private contains(root: string, path: string): boolean {
    const rest = relative(root, path);
    return rest === '' || (rest !== '..' && !rest.startsWith(`..${sep}`) && !isAbsolute(rest));
  }
}
