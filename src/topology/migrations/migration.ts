// One schema migration (./index.ts lists them in order). Its own module so each migration file can name the type
// without importing the list that imports it.
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}
