-- CreateIndex
CREATE INDEX "endpoints_events_idx" ON "endpoints" USING GIN ("events");
