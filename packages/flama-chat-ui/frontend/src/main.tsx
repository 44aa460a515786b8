import { render } from "preact";
import { App } from "./components/App";
import { readConfig } from "./config";
import "./styles.css";

const root = document.getElementById("app");
if (root) render(<App config={readConfig(document)} />, root);
