-- AlterTable
ALTER TABLE "attempts" ALTER COLUMN "request_body" DROP NOT NULL;
