-- AlterTable
ALTER TABLE "tenants" ADD COLUMN     "signature_header" TEXT,
ADD COLUMN     "standard_webhooks_headers" BOOLEAN,
ADD COLUMN     "user_agent_product" TEXT;
