import { Route } from "react-router-dom";
import { Placeholder } from "../../components/Placeholder";

/** The registry pages: models, versions, aliases, promotion requests, reports. */
export const registryRoutes = [
  <Route key="models" path="/models/*" element={<Placeholder title="Models" />} />,
  <Route key="promotions" path="/promotions/*" element={<Placeholder title="Promotions" />} />,
];
