-- CreateIndex
CREATE INDEX "events_created_at_id_idx" ON "events"("created_at", "id");
