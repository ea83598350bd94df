module pipeline/servicewrap

go 1.19
