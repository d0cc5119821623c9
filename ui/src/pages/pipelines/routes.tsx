import { Route } from "react-router-dom";
import { Placeholder } from "../../components/Placeholder";

/** The pipeline pages (runs, DAG, jobs, schedules) and the lineage explorer. */
export const pipelineRoutes = [
  <Route key="pipelines" path="/pipelines/*" element={<Placeholder title="Pipelines" />} />,
  <Route key="lineage" path="/lineage" element={<Placeholder title="Lineage" />} />,
];
