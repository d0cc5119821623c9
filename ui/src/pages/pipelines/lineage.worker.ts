/// <reference lib="webworker" />
/** Lays out a lineage graph off the page's thread (see lineageLayout.ts). */
import { layoutLineage, type LayoutRequest } from "./lineageLayout";

self.onmessage = (event: MessageEvent<LayoutRequest>) => {
  (self as unknown as DedicatedWorkerGlobalScope).postMessage(layoutLineage(event.data));
};
