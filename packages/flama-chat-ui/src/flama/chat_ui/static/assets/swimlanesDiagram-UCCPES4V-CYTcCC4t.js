import{r as e,t}from"./chunk-FGVZ23HU-B_kJVXrT.js";import"./chunk-KTR4FSNJ-DSr3q0Xy.js";import"./chunk-CNRTWJTD-DnC9eWTY.js";import"./mermaid.core-BELq5Hyx.js";import"./chunk-D5HYT7QG-D2rHzIM3.js";import"./chunk-F3AE6A5H-DmUzIlbr.js";import"./chunk-MDAHDJXZ-dUlmzaiS.js";import"./chunk-MPYPSXSE-Becj4CbD.js";import"./chunk-GZTWQ64R-Cf9IIPvA.js";import"./chunk-DZSZGQHW-sg3uw5xT.js";import"./chunk-ND7LMLKX-bjj--O6J.js";import"./chunk-T47YP6PS-Dnsf7bFY.js";import"./chunk-OWCVCYLK-km1qfx5t.js";import"./chunk-QDWOWVBQ-gSeiKPFM.js";import"./d3-selection-BJ1X2oWY.js";import{n}from"./chunk-Y2CYZVJY-DsF7k-Jl.js";var r=t({styles:n(t=>`${e(t)}
  .swimlane.cluster:not([data-color-id]) rect {
    stroke: ${t.clusterBorder} !important;
  }
  [data-look="neo"].cluster rect {
    filter: none;
  }
`,`getStyles`)});export{r as diagram};