// ferry's Node.js buildpack sample: answers GET / with a greeting, through
// Express (a dependency installed from npm by the buildpack).
const express = require("express");

const app = express();
const port = Number(process.env.PORT || 8080);
const greeting = process.env.GREETING || "hello";

app.get("/", (req, res) => res.type("text/plain").send(`${greeting} from node\n`));
app.get("/healthz", (req, res) => res.send("ok\n"));

const server = app.listen(port, () => console.log(`listening on ${port}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
