import { cpus, totalmem, type, release, arch } from 'node:os';
import type { Redis } from 'ioredis';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  redis: string;
  date: string;
  loadAverage: string;
}

export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return out;
}

export async function describeMachine(redis: Redis, loadAverage: string): Promise<MachineInfo> {
  const info = parseInfo(await redis.info('server'));
  const c = cpus();
  return {
    cpuModel: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${type()} ${release()} ${arch()}`,
    node: process.version,
    redis: info.get('redis_version') ?? 'unknown',
    date: new Date().toISOString(),
    loadAverage,
  };
}
