import { Route } from "react-router-dom";
import { ExperimentsPage } from "./ExperimentsPage";

/** The tracking pages: experiments, the run table, a run, compare. */
export const trackingRoutes = [
  <Route key="experiments" path="/experiments" element={<ExperimentsPage />} />,
];
