import { nodeWalFs, type WalFs } from '../../storage/wal';

/** File operations whose syncs fail with ENOSPC while `full` is set: a disk that filled up, and maybe came back. */
export function diskThatFills(): { fs: WalFs; full: boolean } {
  const disk = {
    full: false,
    fs: {
      ...nodeWalFs,
      fdatasync: async (fd: number) => {
        if (disk.full) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        return nodeWalFs.fdatasync(fd);
      },
    } as WalFs,
  };
  return disk;
}
