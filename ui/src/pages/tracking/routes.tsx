import { Route } from "react-router-dom";
import { ExperimentsPage } from "./ExperimentsPage";
import { RunPage } from "./RunPage";
import { RunsPage } from "./RunsPage";

/** The tracking pages: experiments, the run table (one or more experiments), a run. */
export const trackingRoutes = [
  <Route key="experiments" path="/experiments" element={<ExperimentsPage />} />,
  <Route key="experiment" path="/experiments/:experimentId" element={<RunsPage />} />,
  <Route key="runs" path="/runs" element={<RunsPage />} />,
  <Route key="run" path="/runs/:runId" element={<RunPage />} />,
];
