import { Route, Routes } from "react-router-dom";
import { NotFound } from "../../components/Status";
import { LineagePage } from "./LineagePage";
import { PipelineRunPage } from "./PipelineRunPage";
import { PipelinesPage } from "./PipelinesPage";

function PipelineRoutes() {
  return (
    <Routes>
      <Route index element={<PipelinesPage />} />
      <Route path="runs/:runId" element={<PipelineRunPage />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}

/** The pipeline pages (runs, DAG, jobs, schedules) and the lineage explorer. */
export const pipelineRoutes = [
  <Route key="pipelines" path="/pipelines/*" element={<PipelineRoutes />} />,
  <Route key="lineage" path="/lineage" element={<LineagePage />} />,
];
