/** The addresses of the registry's pages, in one place. */
const seg = encodeURIComponent;

export const modelHref = (name: string) => `/models/${seg(name)}`;
export const versionHref = (name: string, version: number | string) =>
  `/models/${seg(name)}/versions/${seg(String(version))}`;
export const requestHref = (id: string) => `/promotions/${seg(id)}`;
export const runHref = (runId: string) => `/runs/${seg(runId)}`;
/** The lineage page the lineage helper builds; this exact URL. */
export const lineageHref = (name: string, version: number | string) =>
  `/lineage?model=${seg(name)}&version=${seg(String(version))}`;
