// The part of node-zookeeper-client 1.1.3's API the bench uses (the package ships no types).
declare module 'node-zookeeper-client' {
  export interface Stat {
    version: number;
  }
  export interface ZkClient {
    connect(): void;
    close(): void;
    once(event: 'connected' | 'disconnected' | 'expired', listener: () => void): void;
    on(event: 'state', listener: (state: { name: string }) => void): void;
    setData(path: string, data: Buffer, version: number, callback: (error: Error | null, stat: Stat) => void): void;
    getData(path: string, callback: (error: Error | null, data: Buffer, stat: Stat) => void): void;
    create(path: string, data: Buffer, mode: number, callback: (error: Error | null, path: string) => void): void;
    mkdirp(path: string, callback: (error: Error | null, path: string) => void): void;
  }
  export function createClient(
    connectString: string,
    options?: { sessionTimeout?: number; spinDelay?: number; retries?: number },
  ): ZkClient;
  export const CreateMode: { PERSISTENT: number; PERSISTENT_SEQUENTIAL: number };
  export const Exception: { NODE_EXISTS: number };
}
