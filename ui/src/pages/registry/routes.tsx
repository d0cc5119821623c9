import { Route, Routes } from "react-router-dom";
import { NotFound } from "../../components/Status";
import { ModelsPage } from "./ModelsPage";
import { ModelPage } from "./ModelPage";
import { VersionPage } from "./VersionPage";
import { PromotionsPage } from "./PromotionsPage";
import { PromotionPage } from "./PromotionPage";
import "./registry.css";

function ModelRoutes() {
  return (
    <Routes>
      <Route index element={<ModelsPage />} />
      <Route path=":name" element={<ModelPage />} />
      <Route path=":name/versions/:version" element={<VersionPage />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}

function PromotionRoutes() {
  return (
    <Routes>
      <Route index element={<PromotionsPage />} />
      <Route path=":id" element={<PromotionPage />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}

/** The registry pages: models, versions, aliases, promotion requests, reports. */
export const registryRoutes = [
  <Route key="models" path="/models/*" element={<ModelRoutes />} />,
  <Route key="promotions" path="/promotions/*" element={<PromotionRoutes />} />,
];
